/**
 * A child process hosting one emulator for the benchmark, so that its work (and memory) is never
 * counted in the measured export process:
 *
 *   tsx bench/emulator-server.ts dynamodb <dataDir>   dynalite, persisted under <dataDir>/dynamodb
 *   tsx bench/emulator-server.ts s3 [<dataDir>]       s3rver, in a temporary folder removed on exit (or under <dataDir>/s3)
 *
 * (startEmulators also starts the SES emulator and the other store; they stay idle.) It tells its
 * parent the endpoint over IPC, answers {type: 'usage'} with its CPU time and peak RSS, and stops when
 * the parent disconnects or sends {type: 'stop'}.
 */
import { startEmulators } from '../lambdas/local/emulators';
import { RAW_BUCKET } from './raw-log-bench';
import { EXPORT_BUCKET } from './tenant';

export type EmulatorRole = 'dynamodb' | 's3';

export interface EmulatorReady {
  type: 'ready';
  endpoint: string;
}

export interface EmulatorUsage {
  type: 'usage';
  /** CPU time since start, microseconds. */
  userMicros: number;
  systemMicros: number;
  maxRssKb: number;
}

async function main(): Promise<void> {
  const role = process.argv[2];
  const dataDir = process.argv[3];
  if (role !== 'dynamodb' && role !== 's3') throw new Error(`Unknown emulator role "${role}".`);
  const emulators = await startEmulators(
    role === 'dynamodb' ? { dataDir } : { buckets: [EXPORT_BUCKET, RAW_BUCKET], ...(dataDir ? { dataDir } : {}) },
  );
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await emulators.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'usage') {
      const cpu = process.cpuUsage();
      const usage: EmulatorUsage = {
        type: 'usage',
        userMicros: cpu.user,
        systemMicros: cpu.system,
        maxRssKb: process.resourceUsage().maxRSS,
      };
      process.send?.(usage);
    } else if (message?.type === 'stop') {
      void stop();
    }
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  const ready: EmulatorReady = {
    type: 'ready',
    endpoint: role === 'dynamodb' ? emulators.dynamodbEndpoint : emulators.s3Endpoint,
  };
  // Started by hand (no IPC channel, e.g. for profiling a single export-run.ts): print the endpoint.
  if (process.send) process.send(ready);
  else console.log(JSON.stringify(ready));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
