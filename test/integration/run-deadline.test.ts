/**
 * An export's deadline against a real stalled upload: s3rver behind the faulty proxy, which stops
 * answering in the middle of a multipart upload. The export's own time limit (exportDeadline) cuts it:
 * the upload is aborted, no object appears, and the export fails instead of waiting for the socket.
 * The same for an export job's run, through the job runner and the real destination gateway.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3DestinationGateway } from '../../lambdas/adapters/s3/destination-gateway';
import { S3ObjectSink } from '../../lambdas/adapters/s3/object-sink';
import { ExportJobRunner } from '../../lambdas/core/export-job-runner';
import { csvEncoder } from '../../lambdas/core/export/csv';
import { exportDeadline, runExport, type Cell } from '../../lambdas/core/export/pipeline';
import {
  createEmulatorClients,
  EMULATOR_CREDENTIALS,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { ArrayProfileStore, ArrayRawEventReader, eventRecord } from '../support/export-job-fixtures';
import { jobOf } from '../support/export-job-store-contracts';
import { FakeClock, FakeExportJobStore, fakeTenantWithDestination } from '../support/fakes';
import { startFaultyS3Proxy, type FaultyS3Proxy, type S3Operation } from '../support/faulty-s3-proxy';

const BUCKET = 'deadline-exports';
const TIME_LIMIT_MS = 3_000;

let emulators: RunningEmulators;
let clients: EmulatorClients;
let proxy: FaultyS3Proxy;
let proxyClients: EmulatorClients;

beforeAll(async () => {
  emulators = await startEmulators({ buckets: [BUCKET] });
  clients = createEmulatorClients(emulators);
  proxy = await startFaultyS3Proxy(emulators.s3Endpoint);
  proxyClients = createEmulatorClients({ ...emulators, s3Endpoint: proxy.endpoint });
});

afterAll(async () => {
  await proxy?.close();
  proxyClients?.destroy();
  clients?.destroy();
  await emulators?.stop();
});

/** About 12 MB of rows, quick to encode: a multipart upload of three parts. */
async function* rows(): AsyncGenerator<Cell[][]> {
  const text = 'x'.repeat(2_000);
  for (let batch = 0; batch < 60; batch++) {
    yield Array.from({ length: 100 }, (_, row) => [`company-${batch}-${row}`, text, batch * row]);
  }
}

it.each<S3Operation>(['UploadPart', 'CompleteMultipartUpload'])(
  'cuts an upload stalled at %s at the time limit, aborting it and leaving no object',
  async (operation) => {
    const key = `stalled-at-${operation}.csv`;
    proxy.inject({ kind: 'stall', operation, keyIncludes: key });
    const sink = new S3ObjectSink({ client: proxyClients.s3, bucket: BUCKET });
    const started = Date.now();

    const failure = runExport({
      rows: rows(),
      encoder: csvEncoder(['id', 'text', 'n']),
      sink,
      key,
      signal: exportDeadline(TIME_LIMIT_MS),
    });

    await expect(failure).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIME_LIMIT_MS - 50);
    expect(proxy.pending(key)).toBe(0);
    const uploads = [...proxy.uploads.values()].filter((upload) => upload.key === key);
    expect(uploads.map(({ state }) => state)).toEqual(['aborted']);
    const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
    expect(listed.Contents ?? []).toEqual([]);
  },
);

describe('an export job run cut at its deadline', () => {
  const NOW = Date.parse('2026-11-23T12:00:00Z');
  const request = { environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW };

  /** A recurring JSON job into a Custom destination at the proxy, with about 12 MB of events in its window. */
  async function jobRunner() {
    const { tenants, destinations, sealer } = await fakeTenantWithDestination({
      destination: { provider: 'Custom', bucket: BUCKET, region: 'auto', keyPrefix: 'jobs', endpoint: proxy.endpoint },
      credentials: EMULATOR_CREDENTIALS,
    });
    const jobs = new FakeExportJobStore();
    await jobs.create(
      jobOf('env1', 'job_1', 1, {
        destinationId: 'dst_1',
        provider: 'Custom',
        format: 'json',
        compression: 'none',
        frequency: { kind: 'recurring', everyHours: 4 },
      }),
    );
    const text = 'x'.repeat(2_000);
    const records = Array.from({ length: 6_000 }, (_, n) =>
      eventRecord(
        'page viewed',
        NOW - 2 * 3_600_000,
        { n, text },
        { environmentId: 'env1', receivedAt: NOW - 2 * 3_600_000 + n },
      ),
    );
    const runner = new ExportJobRunner({
      tenants,
      destinations,
      jobs,
      sealer,
      gateway: new S3DestinationGateway({ allowLoopback: true, allowHttp: true }),
      rawEvents: new ArrayRawEventReader(records),
      profiles: new ArrayProfileStore([]),
      clock: new FakeClock(NOW),
    });
    return { runner, jobs };
  }

  it('aborts the stalled multipart upload, leaves no object, records time_limit_exceeded; the retry writes the same key', async () => {
    const { runner, jobs } = await jobRunner();
    proxy.inject({ kind: 'stall', operation: 'UploadPart', keyIncludes: 'jobs/' });

    const cut = await runner.run(request, { timeLimitMs: TIME_LIMIT_MS });

    expect(cut).toMatchObject({
      outcome: 'ran',
      failureClass: 'transient',
      run: { status: 'failed', files: [], error: expect.stringMatching(/did not finish within its time limit/) },
    });
    expect(proxy.pending('jobs/')).toBe(0);
    const uploads = [...proxy.uploads.values()].filter((upload) => upload.key.startsWith('jobs/'));
    expect(uploads.map(({ state }) => state)).toEqual(['aborted']);
    const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'jobs/' }));
    expect(listed.Contents ?? []).toEqual([]);

    const retried = await runner.run(request, { timeLimitMs: 60_000 });
    expect(retried).toMatchObject({
      outcome: 'ran',
      run: { status: 'successful', files: [{ key: uploads[0].key, records: 6_000 }] },
    });
    const after = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'jobs/' }));
    expect((after.Contents ?? []).map((object) => object.Key)).toEqual([uploads[0].key]);
    expect(await jobs.listRuns('env1', 'job_1', 10)).toEqual([(retried as { run: unknown }).run]);
  }, 30_000);
});
