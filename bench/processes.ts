/** Child processes of the benchmark: the emulators, and one process per measured run. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { EmulatorReady, EmulatorRole, EmulatorUsage } from './emulator-server';

const BENCH_DIR = __dirname;

/**
 * Runs a script in a new Node process, resolving with the message it sends: bench/<script> with tsx
 * (as this process runs), or a bundled .js file with plain Node when `execArgv` is given.
 */
export function runChild<T>(
  script: string,
  argument: unknown,
  options: { execArgv?: string[]; extraExecArgv?: string[] } = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const path = script.endsWith('.js') ? script : join(BENCH_DIR, script);
    const child = fork(path, [JSON.stringify(argument)], {
      execArgv: [...(options.execArgv ?? process.execArgv), ...(options.extraExecArgv ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: T | undefined;
    child.on('message', (message) => {
      result = message as T;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`${script} failed (${signal ?? `exit code ${code}`}).`));
    });
  });
}

export interface EmulatorProcess {
  endpoint: string;
  /** CPU time and peak RSS of the emulator process so far. */
  usage(): Promise<EmulatorUsage>;
  stop(): Promise<void>;
}

export function startEmulatorProcess(role: EmulatorRole, dataDir?: string): Promise<EmulatorProcess> {
  const child: ChildProcess = fork(join(BENCH_DIR, 'emulator-server.ts'), dataDir ? [role, dataDir] : [role], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`The ${role} emulator exited before it was ready (${code}).`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (message: EmulatorReady) => {
      child.off('exit', onExit);
      resolve({
        endpoint: message.endpoint,
        usage: () =>
          new Promise<EmulatorUsage>((resolveUsage) => {
            const onMessage = (reply: EmulatorUsage) => {
              if (reply.type !== 'usage') return;
              child.off('message', onMessage);
              resolveUsage(reply);
            };
            child.on('message', onMessage);
            child.send({ type: 'usage' });
          }),
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.send({ type: 'stop' });
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(timer);
          }
        },
      });
    });
  });
}

/** A measurement child's end: its result to the parent (or to stdout when run by hand), then exit. */
export function finishChild(result: unknown): void {
  if (process.send) {
    process.send(result, () => process.exit(0));
    return;
  }
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
