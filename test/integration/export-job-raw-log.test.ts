/**
 * The export-job run on the real adapters, against s3rver: records appended by the local raw event log,
 * read back by S3RawEventReader, files written by S3ObjectSink into a destination bucket. Three
 * receive-time windows export disjoint sets whose union is everything received; a repeated run
 * rewrites the same objects.
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BufferedRawEventLog } from '../../lambdas/adapters/local/buffered-raw-event-log';
import { S3ObjectSink } from '../../lambdas/adapters/s3/object-sink';
import { S3RawEventReader } from '../../lambdas/adapters/s3/raw-event-reader';
import { runExportJob, type ExportJobRunSpec } from '../../lambdas/core/export-job-run';
import type { RawRecord } from '../../lambdas/core/raw-log';
import {
  createEmulatorClients,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { ArrayProfileStore } from '../support/export-job-fixtures';

const RAW_BUCKET = 'raw-for-jobs';
const DESTINATION = 'customer-bucket';
const START = Date.UTC(2026, 11, 7, 8);
const HOUR = 3_600_000;

let emulators: RunningEmulators;
let clients: EmulatorClients;

beforeAll(async () => {
  emulators = await startEmulators({ buckets: [RAW_BUCKET, DESTINATION] });
  clients = createEmulatorClients(emulators);
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

/** 120 events of 2 names (one of them `a b/c`) and some user items, over 12 hours of receive time. */
const records: RawRecord[] = Array.from({ length: 150 }, (_, i): RawRecord => {
  const receivedAt = START + Math.floor((i * 12 * HOUR) / 150);
  return i % 5 === 4
    ? {
        id: `u${i}`,
        environmentId: 'env_jobs',
        receivedAt,
        type: 'user',
        userId: `user-${i % 9}`,
        attributes: { email: `u${i}@x.y` },
      }
    : {
        id: `e${i}`,
        environmentId: 'env_jobs',
        receivedAt,
        type: 'event',
        userId: `user-${i % 9}`,
        event: i % 2 ? 'a b/c' : 'signup',
        timestamp: receivedAt - 500,
        attributes: { seq: i, text: 'é "q" <&>' },
      };
});

async function keysUnder(prefix: string): Promise<string[]> {
  const { Contents = [] } = await clients.s3.send(new ListObjectsV2Command({ Bucket: DESTINATION, Prefix: prefix }));
  return Contents.map((object) => object.Key!).sort();
}

async function eventsIn(key: string): Promise<{ name: string; seq: number }[]> {
  const { Body } = await clients.s3.send(new GetObjectCommand({ Bucket: DESTINATION, Key: key }));
  const [first, ...lines] = gunzipSync(await Body!.transformToByteArray())
    .toString('utf8')
    .trimEnd()
    .split('\n');
  return lines.map((line) => ({ name: JSON.parse(first) as string, seq: JSON.parse(line).eventProps.seq as number }));
}

it('exports each window once, every event in exactly one run, named by the scheme, the same objects when repeated', async () => {
  const log = new BufferedRawEventLog({ client: clients.s3, bucket: RAW_BUCKET });
  await log.append(records);
  await log.close();

  const reader = new S3RawEventReader({ client: clients.s3, bucket: RAW_BUCKET });
  const sink = new S3ObjectSink({ client: clients.s3, bucket: DESTINATION });
  const run = (index: number) => {
    const spec: ExportJobRunSpec = {
      environmentId: 'env_jobs',
      organizationId: 'org1',
      jobId: 'job_rec',
      type: 'allEvents',
      format: 'json',
      keyPrefix: 'exports',
      window: { from: START + index * 4 * HOUR, to: START + (index + 1) * 4 * HOUR, by: 'receiveTime' },
      runScheduledAt: START + (index + 1) * 4 * HOUR,
    };
    return runExportJob(spec, { rawEvents: reader, profiles: new ArrayProfileStore([]), sink });
  };

  const runs = [await run(0), await run(1), await run(2)];
  const exported: { name: string; seq: number }[] = [];
  for (const { files } of runs) {
    for (const file of files) {
      expect(file.key).toMatch(
        /^exports\/job_rec-20261207(12|16|20)0000-(signup|a-b-c)-20261207-0-env_jobs\.json\.gz$/,
      );
      exported.push(...(await eventsIn(file.key)));
    }
  }
  const sent = records
    .filter((r) => r.type === 'event')
    .map((r) => ({ name: r.event!, seq: r.attributes!.seq as number }));
  expect(exported.sort((a, b) => a.seq - b.seq)).toEqual(sent);

  const before = await keysUnder('exports/');
  const again = await run(1);
  expect(again.files).toEqual(runs[1].files);
  expect(await keysUnder('exports/')).toEqual(before);
});
