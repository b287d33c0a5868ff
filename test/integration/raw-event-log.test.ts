/**
 * The local raw event log (buffered writer) and the S3 reader, against s3rver: objects under the hour
 * prefixes, names in receive order, flushes by size, by time and on close, windows read exactly.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { BufferedRawEventLog, timeOrderedUuid } from '../../lambdas/adapters/local/buffered-raw-event-log';
import { S3RawEventReader } from '../../lambdas/adapters/s3/raw-event-reader';
import { encodeRawRecord, RawRecordFormatError, type RawRecord, type ReceiveWindow } from '../../lambdas/core/raw-log';
import {
  createEmulatorClients,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';

const BUCKET = 'raw-events-test';
const at = (iso: string) => Date.parse(iso);

let emulators: RunningEmulators;
let clients: EmulatorClients;
let reader: S3RawEventReader;
let environmentCounter = 0;
const newEnvironment = () => `env_${++environmentCounter}_${Date.now()}`;

beforeAll(async () => {
  emulators = await startEmulators({ buckets: [BUCKET] });
  clients = createEmulatorClients(emulators);
  reader = new S3RawEventReader({ client: clients.s3, bucket: BUCKET });
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

const newLog = (options: { maxObjectBytes?: number; flushIntervalMs?: number } = {}) =>
  new BufferedRawEventLog({ client: clients.s3, bucket: BUCKET, ...options });

function recordsAt(environmentId: string, times: number[], prefix = 'r'): RawRecord[] {
  return times.map((receivedAt, index) => ({
    id: `${prefix}${index}`,
    environmentId,
    receivedAt,
    type: 'event',
    userId: `u${index % 7}`,
    event: 'report_run',
    timestamp: receivedAt - 1000,
    attributes: { index, text: 'é\n"quoted"' },
  }));
}

async function readAll(environmentId: string, window: ReceiveWindow): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  for await (const batch of reader.readBatches(environmentId, window)) records.push(...batch);
  return records;
}

async function listKeys(prefix: string): Promise<string[]> {
  const { Contents = [] } = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return Contents.map((object) => object.Key!);
}

async function objectLines(key: string): Promise<RawRecord[]> {
  const { Body } = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const text = gunzipSync(await Body!.transformToByteArray()).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as RawRecord);
}

describe('the buffered raw event log', () => {
  it('writes each environment and hour into its own prefix, as gzip JSON lines', async () => {
    const [first, second] = [newEnvironment(), newEnvironment()];
    const log = newLog();
    const records = [
      ...recordsAt(first, [at('2026-12-31T23:10:00Z'), at('2027-01-01T00:05:00Z')]),
      ...recordsAt(second, [at('2026-12-31T23:20:00Z')], 's'),
    ];
    await log.append(records);
    await log.close();

    const keys = [...(await listKeys(`raw/${first}/`)), ...(await listKeys(`raw/${second}/`))];
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(
      new RegExp(`^raw/${first}/2026/12/31/23/local-raw-events-1-2026-12-31-23-10-00-[0-9a-f-]{36}\\.jsonl\\.gz$`),
    );
    expect(keys[1]).toMatch(new RegExp(`^raw/${first}/2027/01/01/00/local-raw-events-1-2027-01-01-00-05-00-`));
    expect(keys[2]).toMatch(new RegExp(`^raw/${second}/2026/12/31/23/`));
    expect(await objectLines(keys[0])).toEqual([records[0]]);
    expect(await objectLines(keys[2])).toEqual([records[2]]);
  });

  it('cuts an object at its size, names sorting in receive order, each object complete', async () => {
    const environmentId = newEnvironment();
    const log = newLog({ maxObjectBytes: 2_000 });
    const start = at('2026-12-07T10:00:00Z');
    // 300 records within 3 seconds: many objects share a second, their uuids order them.
    const records = recordsAt(
      environmentId,
      Array.from({ length: 300 }, (_, index) => start + index * 10),
    );
    for (let i = 0; i < records.length; i += 25) await log.append(records.slice(i, i + 25));
    await log.close();

    const keys = await listKeys(`raw/${environmentId}/2026/12/07/10/`);
    expect(keys.length).toBeGreaterThan(20);
    const lines: RawRecord[] = [];
    for (const key of keys) lines.push(...(await objectLines(key)));
    expect(lines).toEqual(records);
  });

  it('writes a buffer after the flush interval without being asked', async () => {
    const environmentId = newEnvironment();
    const log = newLog({ flushIntervalMs: 100 });
    try {
      await log.append(recordsAt(environmentId, [Date.now()]));
      let keys: string[] = [];
      for (let waited = 0; keys.length === 0 && waited < 5_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        keys = await listKeys(`raw/${environmentId}/`);
      }
      expect(keys).toHaveLength(1);
    } finally {
      await log.close();
    }
  });

  it('tries a failed write again: nothing accepted is lost', async () => {
    const environmentId = newEnvironment();
    let failures = 2;
    const failing = createEmulatorClients(emulators);
    failing.s3.middlewareStack.add(
      (next) => async (args) => {
        if (failures-- > 0) throw Object.assign(new Error('connection reset'), { name: 'TimeoutError' });
        return next(args);
      },
      { step: 'initialize', name: 'failTwice' },
    );
    const log = new BufferedRawEventLog({ client: failing.s3, bucket: BUCKET });
    const records = recordsAt(environmentId, [at('2026-12-07T10:00:00Z'), at('2026-12-07T10:00:01Z')]);
    await log.append(records);
    await log.close();
    failing.destroy();
    expect(await readAll(environmentId, { from: at('2026-12-07T10:00:00Z'), to: at('2026-12-07T11:00:00Z') })).toEqual(
      records,
    );
  });

  it('makes names that sort in the order they are made, also within one millisecond', () => {
    const uuids = Array.from({ length: 5_000 }, () => timeOrderedUuid(1_796_637_600_000));
    expect([...uuids].sort()).toEqual(uuids);
    expect(new Set(uuids).size).toBe(uuids.length);
    expect(uuids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('the raw event reader', () => {
  const environmentId = newEnvironment();
  const times = [
    '2026-12-06T22:59:59.999Z',
    '2026-12-06T23:00:00.000Z',
    '2026-12-06T23:59:59.999Z',
    '2026-12-07T00:00:00.000Z',
    '2026-12-07T00:30:00.000Z',
    '2026-12-07T00:59:59.999Z',
    '2026-12-07T01:00:00.000Z',
    '2026-12-07T05:00:00.000Z',
  ].map(at);
  const records = recordsAt(environmentId, times);

  beforeAll(async () => {
    const log = newLog({ maxObjectBytes: 300 });
    await log.append(records);
    await log.append(recordsAt(newEnvironment(), times, 'other')); // another environment, same hours
    await log.close();
  });

  const window = (from: string, to: string) => readAll(environmentId, { from: at(from), to: at(to) });
  const ids = (list: RawRecord[]) => list.map((record) => record.id);

  it('returns exactly the records received in the window, in receive order, across a day edge', async () => {
    expect(ids(await window('2026-12-06T23:00:00Z', '2026-12-07T01:00:00Z'))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(await window('2026-12-06T00:00:00Z', '2026-12-08T00:00:00Z')).toEqual(records);
  });

  it('includes the start and excludes the end, to the millisecond', async () => {
    expect(ids(await window('2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z'))).toEqual(['r2']);
    expect(ids(await window('2026-12-07T00:00:00.001Z', '2026-12-07T00:59:59.999Z'))).toEqual(['r4']);
    expect(ids(await window('2026-12-07T00:30:00.000Z', '2026-12-07T05:00:00.001Z'))).toEqual(['r4', 'r5', 'r6', 'r7']);
    expect(await window('2026-12-07T02:00:00Z', '2026-12-07T05:00:00Z')).toEqual([]);
  });

  it('reads nothing of an environment with no records', async () => {
    expect(await readAll('env_none', { from: at('2026-12-06T00:00:00Z'), to: at('2026-12-08T00:00:00Z') })).toEqual([]);
  });

  it('reads objects with blank lines or no final newline, and names a broken line', async () => {
    const other = newEnvironment();
    const [first, second] = recordsAt(other, [at('2026-12-07T10:00:00Z'), at('2026-12-07T10:00:01Z')]);
    const put = (name: string, text: string) =>
      clients.s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `raw/${other}/2026/12/07/10/${name}.jsonl.gz`,
          Body: gzipSync(Buffer.from(text)),
        }),
      );
    await put('a', `${encodeRawRecord(first)}\n\n${encodeRawRecord(second).trimEnd()}`);
    const hour = { from: at('2026-12-07T10:00:00Z'), to: at('2026-12-07T11:00:00Z') };
    expect(await readAll(other, hour)).toEqual([first, second]);
    await put('b', `${encodeRawRecord(first)}{"id": broken\n`);
    await expect(readAll(other, hour)).rejects.toThrow(RawRecordFormatError);
  });

  it('stops downloading when the caller stops reading', async () => {
    const first: RawRecord[] = [];
    for await (const batch of reader.readBatches(environmentId, {
      from: at('2026-12-06T00:00:00Z'),
      to: at('2026-12-08T00:00:00Z'),
    })) {
      first.push(batch[0]);
      break;
    }
    expect(ids(first)).toEqual(['r0']);
  });
});
