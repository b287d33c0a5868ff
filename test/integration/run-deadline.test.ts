/**
 * An export's deadline against a real stalled upload: s3rver behind the faulty proxy, which stops
 * answering in the middle of a multipart upload. The export's own time limit (exportDeadline) cuts it:
 * the upload is aborted, no object appears, and the export fails instead of waiting for the socket.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3ObjectSink } from '../../lambdas/adapters/s3/object-sink';
import { csvEncoder } from '../../lambdas/core/export/csv';
import { exportDeadline, runExport, type Cell } from '../../lambdas/core/export/pipeline';
import { createEmulatorClients, startEmulators, type EmulatorClients, type RunningEmulators } from '../../lambdas/local/emulators';
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

    const failure = runExport({ rows: rows(), encoder: csvEncoder(['id', 'text', 'n']), sink, key, signal: exportDeadline(TIME_LIMIT_MS) });

    await expect(failure).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIME_LIMIT_MS - 50);
    expect(proxy.pending(key)).toBe(0);
    const uploads = [...proxy.uploads.values()].filter((upload) => upload.key === key);
    expect(uploads.map(({ state }) => state)).toEqual(['aborted']);
    const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
    expect(listed.Contents ?? []).toEqual([]);
  },
);
