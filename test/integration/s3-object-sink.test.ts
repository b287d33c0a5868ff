/**
 * The S3 adapters of the export pipeline against s3rver. s3rver implements neither
 * AbortMultipartUpload (405 MethodNotAllowed) nor ListMultipartUploads (501 NotImplemented), so "no
 * parts left" is checked as far as the emulator allows: the abort is requested for exactly the upload
 * whose parts were sent, and no object appears. That S3 then drops the parts is S3's contract. The
 * failing abort also shows that the upload's own error is the one reported.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { S3DownloadLinks, attachmentDisposition, contentTypeOf } from '../../lambdas/adapters/s3/download-links';
import { MIN_PART_SIZE_BYTES, S3ObjectSink } from '../../lambdas/adapters/s3/object-sink';
import { csvEncoder } from '../../lambdas/core/export/csv';
import { runExport, type Cell } from '../../lambdas/core/export/pipeline';
import {
  createEmulatorClients,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';

const BUCKET = 'exports-test';
const MB = 1_000_000;
const CHUNK_BYTES = 64 * 1024;

let emulators: RunningEmulators;
let clients: EmulatorClients;
let sink: S3ObjectSink;
/** The S3 commands sent since the test began, with the multipart upload each belongs to. */
let sentCommands: { command?: string; key?: string; uploadId?: string }[] = [];
let keyCounter = 0;
const freshKey = (suffix = 'bin') => `run-${++keyCounter}/export.${suffix}`;

/** Records every command the client sends in `sentCommands`. */
function recordCommands(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const input = args.input as { Key?: string; UploadId?: string };
      sentCommands.push({ command: context.commandName, key: input.Key, uploadId: input.UploadId });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
}

beforeAll(async () => {
  emulators = await startEmulators({ buckets: [BUCKET] });
  clients = createEmulatorClients(emulators);
  recordCommands(clients.s3);
  sink = new S3ObjectSink({ client: clients.s3, bucket: BUCKET, partSizeBytes: MIN_PART_SIZE_BYTES });
});

beforeEach(() => {
  sentCommands = [];
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

/**
 * `totalBytes` of random bytes in 64 KiB chunks, hashed as they are produced; with `failAfterBytes`,
 * the stream errors with `failure` once that much has been produced.
 */
function generatedBody(totalBytes: number, failure?: { afterBytes: number; error: Error }) {
  const hash = createHash('sha256');
  let produced = 0;
  const body = new Readable({
    read() {
      if (failure && produced >= failure.afterBytes) {
        this.destroy(failure.error);
      } else if (produced >= totalBytes) {
        this.push(null);
      } else {
        const chunk = randomBytes(Math.min(CHUNK_BYTES, totalBytes - produced));
        hash.update(chunk);
        produced += chunk.length;
        this.push(chunk);
      }
    },
  });
  return { body, sha256: () => hash.digest('hex') };
}

async function readObject(key: string): Promise<Buffer> {
  const object = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function expectNoObject(key: string): Promise<void> {
  await expect(clients.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({
    name: 'NotFound',
  });
  const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  expect(listed.Contents ?? []).toEqual([]);
}

/** The commands sent for `key`: what the sink did with it. */
const commandsFor = (key: string) => sentCommands.filter((sent) => sent.key === key);

/** Asserts that a multipart upload of `key` was started and then aborted, and nothing completed it. */
function expectMultipartUploadAborted(key: string): void {
  const commands = commandsFor(key);
  const partUploads = commands.filter((sent) => sent.command === 'UploadPartCommand');
  expect(partUploads.length).toBeGreaterThan(0);
  const uploadId = partUploads[0].uploadId;
  expect(partUploads.every((sent) => sent.uploadId === uploadId)).toBe(true);
  expect(commands.filter((sent) => sent.command === 'AbortMultipartUploadCommand')).toEqual([
    { command: 'AbortMultipartUploadCommand', key, uploadId },
  ]);
  expect(commands.map((sent) => sent.command)).not.toContain('CompleteMultipartUploadCommand');
  expect(commands.map((sent) => sent.command)).not.toContain('PutObjectCommand');
}

describe('S3ObjectSink', () => {
  it('uploads a body of several parts complete and byte-identical', async () => {
    const key = freshKey();
    const { body, sha256 } = generatedBody(20 * MB);

    await sink.write(key, body, { contentType: 'application/octet-stream' });

    const stored = await readObject(key);
    expect(stored.length).toBe(20 * MB);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(sha256());
    const commands = commandsFor(key).map((sent) => sent.command);
    expect(commands.filter((command) => command === 'UploadPartCommand')).toHaveLength(4);
    expect(commands).toContain('CompleteMultipartUploadCommand');
  });

  it('stores a body smaller than one part with one PutObject, under the key prefix, with its content type', async () => {
    const prefixed = new S3ObjectSink({ client: clients.s3, bucket: BUCKET, keyPrefix: 'tenant-a//' });
    const key = freshKey('csv');

    await prefixed.write(`/${key}`, Readable.from([Buffer.from('a,b\n'), Buffer.from('1,2\n')]), {
      contentType: 'text/csv; charset=utf-8',
    });

    expect(sentCommands.map((sent) => sent.command)).toEqual(['PutObjectCommand']);
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `tenant-a/${key}` }));
    expect(head.ContentType).toBe('text/csv; charset=utf-8');
    expect((await readObject(`tenant-a/${key}`)).toString()).toBe('a,b\n1,2\n');
  });

  it('joins prefix and key with exactly one slash, keeping the slashes inside them', async () => {
    const prefixed = new S3ObjectSink({ client: clients.s3, bucket: BUCKET, keyPrefix: 'tenants/a/' });
    const key = freshKey('csv');
    await prefixed.write(`//${key}`, Readable.from([Buffer.from('x')]), { contentType: 'text/csv' });
    await prefixed.write(key.replace('.csv', '.txt'), Readable.from([Buffer.from('y')]), { contentType: 'text/plain' });
    expect((await readObject(`tenants/a/${key}`)).toString()).toBe('x');
    expect((await readObject(`tenants/a/${key.replace('.csv', '.txt')}`)).toString()).toBe('y');
  });

  it('leaves no object when the body fails midway, aborts the multipart upload and rethrows the body error', async () => {
    const key = freshKey();
    const sourceError = new Error('the source failed after 12 MB');
    const { body } = generatedBody(30 * MB, { afterBytes: 12 * MB, error: sourceError });

    await expect(sink.write(key, body, { contentType: 'application/octet-stream' })).rejects.toBe(sourceError);

    await expectNoObject(key);
    expectMultipartUploadAborted(key);
  });

  it('leaves no object when a part upload fails, aborts the multipart upload and rethrows the failure', async () => {
    const failing = createEmulatorClients(emulators);
    const partFailure = new Error('part 2 could not be stored');
    failing.s3.middlewareStack.add(
      (next, context) => (args) => {
        const input = args.input as { PartNumber?: number };
        if (context.commandName === 'UploadPartCommand' && input.PartNumber === 2) throw partFailure;
        return next(args);
      },
      { step: 'initialize', name: 'failSecondPart' },
    );
    recordCommands(failing.s3);
    const key = freshKey();
    const { body } = generatedBody(30 * MB);

    try {
      const failingSink = new S3ObjectSink({ client: failing.s3, bucket: BUCKET, partSizeBytes: MIN_PART_SIZE_BYTES });
      await expect(failingSink.write(key, body, { contentType: 'application/octet-stream' })).rejects.toBe(partFailure);
    } finally {
      failing.destroy();
    }

    await expectNoObject(key);
    expectMultipartUploadAborted(key);
    expect(body.destroyed).toBe(true);
  });

  it('rejects part sizes S3 would refuse', () => {
    expect(
      () => new S3ObjectSink({ client: clients.s3, bucket: BUCKET, partSizeBytes: MIN_PART_SIZE_BYTES - 1 }),
    ).toThrow(new RangeError(`partSizeBytes must be at least ${MIN_PART_SIZE_BYTES} (S3's minimum part size).`));
    expect(
      () => new S3ObjectSink({ client: clients.s3, bucket: BUCKET, partSizeBytes: MIN_PART_SIZE_BYTES }),
    ).not.toThrow();
  });

  it('rejects a queue of parts that is not a positive whole number', () => {
    for (const queueSize of [0, -1, 1.5]) {
      expect(() => new S3ObjectSink({ client: clients.s3, bucket: BUCKET, queueSize })).toThrow(
        new RangeError('queueSize must be a positive integer.'),
      );
    }
    expect(() => new S3ObjectSink({ client: clients.s3, bucket: BUCKET, queueSize: 1 })).not.toThrow();
  });
});

describe('runExport into S3ObjectSink', () => {
  async function* batches(rows: Cell[][], batchSize: number, failure?: { afterRows: number; error: Error }) {
    for (let start = 0; start < rows.length; start += batchSize) {
      if (failure && start >= failure.afterRows) throw failure.error;
      yield rows.slice(start, start + batchSize);
    }
  }

  it('writes the CSV the rows describe', async () => {
    const key = freshKey('csv');
    const rows: Cell[][] = [
      ['acme', 3],
      ['=HYPERLINK("x")', null],
      ['comma, "quoted"', 0],
    ];

    const result = await runExport({ rows: batches(rows, 2), encoder: csvEncoder(['a', 'b']), sink, key });

    const csv = (await readObject(key)).toString('utf8');
    expect(csv).toBe('a,b\nacme,3\n"\'=HYPERLINK(""x"")",\n"comma, ""quoted""",0\n');
    expect(result).toEqual({ key, rowCount: 3, byteCount: Buffer.byteLength(csv) });
  });

  it('leaves no object when the rows fail midway through a multipart upload', async () => {
    const key = freshKey('csv');
    const filler = 'x'.repeat(100);
    const rows: Cell[][] = Array.from({ length: 200_000 }, (_, index) => [index, filler]);
    const sourceError = new Error('the usage store failed');

    // About 12 MB of CSV (two 5 MiB parts sent) before the failure.
    const exporting = runExport({
      rows: batches(rows, 1000, { afterRows: 110_000, error: sourceError }),
      encoder: csvEncoder(['a', 'b']),
      sink,
      key,
    });

    await expect(exporting).rejects.toBe(sourceError);
    await expectNoObject(key);
    expectMultipartUploadAborted(key);
  });

  it('leaves no object when its signal aborts it midway through a multipart upload (the time limit)', async () => {
    const key = freshKey('csv');
    const filler = 'x'.repeat(100);
    const timeLimit = new AbortController();
    async function* rowsThatRunOutOfTime() {
      for (let batch = 0; batch < 200; batch++) {
        // About 12 MB of CSV (two 5 MiB parts sent) before the time is up.
        if (batch === 110) timeLimit.abort(new Error('time is up'));
        yield Array.from({ length: 1000 }, (_, index): Cell[] => [batch * 1000 + index, filler]);
      }
    }

    const exporting = runExport({
      rows: rowsThatRunOutOfTime(),
      encoder: csvEncoder(['a', 'b']),
      sink,
      key,
      signal: timeLimit.signal,
    });

    await expect(exporting).rejects.toThrow('time is up');
    await expectNoObject(key);
    expectMultipartUploadAborted(key);
  });

  it('leaves no object when aborted before the first part was sent', async () => {
    const key = freshKey('csv');
    const timeLimit = new AbortController();
    async function* rows() {
      yield [['first', 1]] as Cell[][];
      timeLimit.abort(new Error('time is up'));
      yield [['second', 2]] as Cell[][];
    }
    await expect(
      runExport({ rows: rows(), encoder: csvEncoder(['a', 'b']), sink, key, signal: timeLimit.signal }),
    ).rejects.toThrow('time is up');
    await expectNoObject(key);
    expect(
      commandsFor(key).filter(
        (sent) => sent.command === 'PutObjectCommand' || sent.command === 'CompleteMultipartUploadCommand',
      ),
    ).toEqual([]);
  });
});

describe('S3DownloadLinks', () => {
  it('pre-signs a URL that downloads the object as an attachment named after the export', async () => {
    const key = freshKey('csv');
    await sink.write(key, Readable.from([Buffer.from('a,b\n1,2\n')]), { contentType: 'application/octet-stream' });
    const links = new S3DownloadLinks({ client: clients.s3, bucket: BUCKET });

    const url = await links.createDownloadUrl(key, { fileName: 'adoption "Q1" été.csv', expiresInSeconds: 300 });
    const response = await fetch(url);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('a,b\n1,2\n');
    // s3rver applies response-content-disposition and response-content-type as S3 does.
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="adoption _Q1_ _t_.csv"; filename*=UTF-8''adoption%20%22Q1%22%20%C3%A9t%C3%A9.csv`,
    );
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  });

  it('keeps a plain ASCII file name as is', () => {
    expect(attachmentDisposition('company-adoption_2024-10-04.csv')).toBe(
      'attachment; filename="company-adoption_2024-10-04.csv"',
    );
  });

  it('cannot be broken out of by quotes, backslashes or line breaks in the name', () => {
    expect(attachmentDisposition('a"\\\r\nb.csv')).toBe(
      `attachment; filename="a____b.csv"; filename*=UTF-8''a%22%5C%0D%0Ab.csv`,
    );
  });

  it.each([
    ['export.csv', 'text/csv; charset=utf-8'],
    ['EXPORT.CSV', 'text/csv; charset=utf-8'],
    ['export.json', 'application/json'],
    ['revisions.jsonl', 'application/x-ndjson'],
    ['export.parquet', 'application/octet-stream'],
    ['export', 'application/octet-stream'],
  ])('serves %s as %s', (fileName, contentType) => {
    expect(contentTypeOf(fileName)).toBe(contentType);
  });
});
