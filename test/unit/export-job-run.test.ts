/**
 * One run of an export job (`runExportJob`, docs/export-job-files.md "The run"), on in-memory ports:
 * which records a window exports (receive time, or event time read until the run), the selected
 * events, the repeats dropped in one or two passes, each event's profile and properties, the files'
 * names, compression and order, profile runs, and what a failure or an abort leaves behind. Each
 * file is parsed back (JSON lines, csv-parse, fast-xml-parser, hyparquet).
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { runExportJob, type ExportJobRunPorts, type ExportJobRunSpec } from '../../lambdas/core/export-job-run';
import { RawLogChangedError } from '../../lambdas/core/export/repeated-records';
import type { ObjectWriteOptions } from '../../lambdas/core/export/pipeline';
import type { JsonValue, RawRecord } from '../../lambdas/core/raw-log';
import {
  ArrayProfileStore,
  ArrayRawEventReader,
  eventRecord,
  exportJobRunSpec,
  MemorySink,
} from '../support/export-job-fixtures';
import { parquetRows, parquetTypes, xmlEntries, xmlFile, type XmlEntries } from '../support/export-job-read';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 2026-11-22 00:00 UTC. */
const DAY_START = Date.UTC(2026, 10, 22);
const RUN_AT = Date.UTC(2026, 10, 24, 4, 0, 0);
const RUN_TS = '20261124040000';

const jobSpec = (overrides: Partial<ExportJobRunSpec> = {}): ExportJobRunSpec =>
  exportJobRunSpec(
    { window: { from: DAY_START, to: DAY_START + 2 * DAY, by: 'receiveTime' }, runScheduledAt: RUN_AT },
    overrides,
  );

async function run(
  overrides: Partial<ExportJobRunSpec>,
  records: RawRecord[],
  ports: Partial<ExportJobRunPorts> = {},
): Promise<{ keys: string[]; records: number[]; sink: MemorySink }> {
  const sink = (ports.sink as MemorySink | undefined) ?? new MemorySink();
  const { files } = await runExportJob(jobSpec(overrides), {
    rawEvents: new ArrayRawEventReader(records),
    profiles: new ArrayProfileStore([]),
    ...ports,
    sink,
  });
  return { keys: files.map((file) => file.key), records: files.map((file) => file.records), sink };
}

/** A JSON-lines event file: its name line, then one object per event. */
function jsonEvents(sink: MemorySink, key: string): { name: string; rows: Record<string, JsonValue>[] } {
  const [name, ...rows] = sink.text(key).trim().split('\n');
  return { name: JSON.parse(name), rows: rows.map((line) => JSON.parse(line)) };
}

/** The `i` property of every event in the run's files, in file then row order. */
function exportedIds(sink: MemorySink, keys: string[]): JsonValue[] {
  return keys.flatMap((key) =>
    jsonEvents(sink, key).rows.map((row) => (row.eventProps as Record<string, JsonValue>).i),
  );
}

function csvRows(text: string): Record<string, string>[] {
  return parseCsv(text, { columns: true });
}

const csvHeader = (text: string): string[] => parseCsv(text, { to_line: 1 })[0];

/** Lets `count` turns of the event loop pass. */
const turns = async (count: number) => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
};

const isGzip = (bytes: Buffer) => bytes[0] === 0x1f && bytes[1] === 0x8b;

describe('the window', () => {
  it('of a recurring run: the records received in [from, to), whatever their event time', async () => {
    const from = DAY_START + 10 * HOUR;
    const records = [
      eventRecord('e', from - 1000 - 1, { i: 'received just before' }),
      eventRecord('e', DAY_START - 3 * DAY, { i: 'old event received at from' }, { receivedAt: from }),
      eventRecord('e', from + HOUR, { i: 'inside' }),
      eventRecord('e', from + 5 * DAY, { i: 'future event received inside' }, { receivedAt: from + 2 * HOUR }),
      eventRecord('e', from + 3 * HOUR, { i: 'received at to' }, { receivedAt: from + 3 * HOUR }),
    ];
    const { keys, sink } = await run({ window: { from, to: from + 3 * HOUR, by: 'receiveTime' } }, records);
    // Each in the file of its event's UTC day.
    expect(keys).toEqual([
      `dest/job1-${RUN_TS}-e-20261119-0-env1.json.gz`,
      `dest/job1-${RUN_TS}-e-20261122-0-env1.json.gz`,
      `dest/job1-${RUN_TS}-e-20261127-0-env1.json.gz`,
    ]);
    expect(exportedIds(sink, keys)).toEqual(['old event received at from', 'inside', 'future event received inside']);
  });

  it("of a one-time run: the events of its UTC days, from the log received from the first day's start until the run", async () => {
    const from = DAY_START;
    const to = DAY_START + 2 * DAY;
    const readUntil = to + 5 * HOUR;
    const records = [
      eventRecord('e', from - 1, { i: 'before the first day' }, { receivedAt: from + 10 }),
      eventRecord('e', from, { i: 'first ms' }, { receivedAt: from + 20 }),
      eventRecord('e', from + HOUR, { i: 'no event time: its receive time' }, { timestamp: undefined }),
      eventRecord('e', to - 1, { i: 'last ms, received after the days' }, { receivedAt: to + HOUR }),
      eventRecord('e', to, { i: 'after the last day' }, { receivedAt: to + HOUR }),
      eventRecord('e', from, { i: 'no event time, received after the days' }, { timestamp: undefined, receivedAt: to }),
      eventRecord('e', from + DAY, { i: 'received at the run' }, { receivedAt: readUntil }),
      eventRecord('e', from + DAY, { i: 'received after the run' }, { receivedAt: readUntil + 1 }),
    ];
    const { keys, sink } = await run({ window: { from, to, by: 'eventTime', readUntil } }, records);
    expect(keys).toEqual([
      `dest/job1-${RUN_TS}-e-20261122-0-env1.json.gz`,
      `dest/job1-${RUN_TS}-e-20261123-0-env1.json.gz`,
    ]);
    const rows = keys.flatMap((key) => jsonEvents(sink, key).rows);
    expect(rows.map((row) => [(row.eventProps as Record<string, JsonValue>).i, row.ts])).toEqual([
      ['first ms', 20261122000000],
      // eventRecord receives at its timestamp + 1 s.
      ['no event time: its receive time', 20261122010001],
      ['last ms, received after the days', 20261123235959],
    ]);
  });
});

describe('the records exported', () => {
  it('are events with a name: other record types and nameless events are left out', async () => {
    const records: RawRecord[] = [
      eventRecord('e', DAY_START + HOUR, { i: 1 }),
      { ...eventRecord('e', DAY_START + HOUR, { i: 2 }), type: 'user' },
      { ...eventRecord('e', DAY_START + HOUR, { i: 3 }), type: 'feedback' },
      eventRecord('e', DAY_START + HOUR, { i: 4 }, { event: undefined }),
      eventRecord('e', DAY_START + HOUR, { i: 5 }),
    ];
    const { keys, sink } = await run({}, records);
    expect(exportedIds(sink, keys)).toEqual([1, 5]);
  });

  it('of a selectedEvents job: its names only (none without names); allEvents ignores the names', async () => {
    const records = () => [
      eventRecord('a', DAY_START + HOUR, { i: 1 }),
      eventRecord('b', DAY_START + HOUR, { i: 2 }),
      eventRecord('c', DAY_START + HOUR, { i: 3 }),
      eventRecord('a b', DAY_START + HOUR, { i: 4 }),
    ];
    const selected = await run({ type: 'selectedEvents', events: ['a', 'c'] }, records());
    expect(selected.keys.map((key) => jsonEvents(selected.sink, key).name)).toEqual(['a', 'c']);
    expect((await run({ type: 'selectedEvents' }, records())).keys).toEqual([]);
    const all = await run({ type: 'allEvents', events: ['a'] }, records());
    expect(all.keys.map((key) => jsonEvents(all.sink, key).name)).toEqual(['a', 'a b', 'b', 'c']);
  });

  it('are each exported once: a repeated id is dropped, also across the reader batches', async () => {
    const first = eventRecord('e', DAY_START + HOUR, { i: 1 });
    const second = eventRecord('e', DAY_START + HOUR + 1, { i: 2 });
    const records = [first, second, { ...first }, eventRecord('e', DAY_START + HOUR + 2, { i: 3 }), { ...second }];
    const { keys, sink } = await run({}, records);
    expect(exportedIds(sink, keys)).toEqual([1, 2, 3]);
  });

  it.each(['csv', 'parquet'] as const)(
    "in %s: a repeat's keys make no column, and the second pass drops the first pass's repeats",
    async (format) => {
      const first = eventRecord('e', DAY_START + HOUR, { i: 1 }, { userId: 'u1' });
      const records = [
        first,
        eventRecord('e', DAY_START + HOUR + 1, { i: 2 }, { userId: 'u2' }),
        { ...first, attributes: { i: 1, onlyInTheRepeat: true } },
        eventRecord('e', DAY_START + HOUR + 2, { i: 3 }, { userId: 'u3' }),
      ];
      const { keys, records: counts, sink } = await run({ format, compression: 'none' }, records);
      expect(counts).toEqual([3]);
      const rows =
        format === 'csv' ? csvRows(sink.text(keys[0])) : await parquetRows(sink.objects.get(keys[0]) as Buffer);
      expect(rows.map((row) => [row.identity, row.i])).toEqual(
        format === 'csv'
          ? [
              ['u1', '1'],
              ['u2', '2'],
              ['u3', '3'],
            ]
          : [
              ['u1', 1],
              ['u2', 2],
              ['u3', 3],
            ],
      );
      expect(Object.keys(rows[0])).not.toContain('onlyInTheRepeat');
    },
  );

  it('fails with RawLogChangedError when the second pass finds another record where the first found a repeat', async () => {
    const first = eventRecord('e', DAY_START + HOUR, { i: 1 });
    const firstPass = [first, { ...first }, eventRecord('e', DAY_START + HOUR + 1, { i: 2 })];
    const secondPass = [first, eventRecord('e', DAY_START + HOUR, { i: 3 }), firstPass[2]];
    let reads = 0;
    const rawEvents = {
      readBatches: (environmentId: string, window: { from: number; to: number }) =>
        new ArrayRawEventReader(reads++ === 0 ? firstPass : secondPass).readBatches(environmentId, window),
    };
    const sink = new MemorySink();
    await expect(run({ format: 'csv' }, [], { rawEvents, sink })).rejects.toThrow(RawLogChangedError);
    expect(reads).toBe(2);
    expect(sink.objects.size).toBe(0);
  });
});

describe('each exported event', () => {
  it("takes the identity by the job's priority, and email and phone from its context when they are text", async () => {
    const records = () => [
      eventRecord('e', DAY_START + HOUR, { i: 1 }, { userId: 'u1', context: { email: 'a@b.c', phone: '+33 1' } }),
      eventRecord('e', DAY_START + HOUR, { i: 2 }, { userId: 'u2', context: { email: 5, phone: true } }),
      eventRecord('e', DAY_START + HOUR, { i: 3 }, { userId: 'u3', context: { phone: '+33 3' } }),
      eventRecord('e', DAY_START + HOUR, { i: 4 }, { userId: undefined, context: ['a@b.c'] }),
    ];
    const profiles = async (identityPriority?: ExportJobRunSpec['identityPriority']) => {
      const { keys, sink } = await run({ identityPriority }, records());
      return jsonEvents(sink, keys[0]).rows.map((row) => row.profile);
    };
    expect(await profiles()).toEqual([
      { identity: 'u1', email: 'a@b.c', phone: '+33 1' },
      { identity: 'u2' },
      { identity: 'u3', phone: '+33 3' },
      {},
    ]);
    expect(await profiles(['phone', 'email', 'identity'])).toEqual([
      { identity: '+33 1', email: 'a@b.c', phone: '+33 1' },
      { identity: 'u2' },
      { identity: '+33 3', phone: '+33 3' },
      {},
    ]);
  });

  it('carries its context object as device info, and its properties as sent ({} without any)', async () => {
    const records = [
      eventRecord('e', DAY_START + HOUR, { n: 1 }, { context: { browser: 'x', email: 'a@b.c' } }),
      eventRecord('e', DAY_START + HOUR, { n: 2 }, { context: ['not', 'an', 'object'] }),
      eventRecord('e', DAY_START + HOUR, { n: 3 }, { context: 'text' }),
      eventRecord('e', DAY_START + HOUR, { n: 4 }, { context: null }),
      { ...eventRecord('e', DAY_START + HOUR, {}), attributes: undefined },
    ];
    const { keys, sink } = await run({ format: 'xml', compression: 'none' }, records);
    const events = xmlFile(sink.text(keys[0])).Events.Event;
    expect(events.map((event: { deviceInfo: XmlEntries }) => xmlEntries(event.deviceInfo))).toEqual([
      { browser: 'x', email: 'a@b.c' },
      {},
      {},
      {},
      {},
    ]);
    expect(events.map((event: { eventProps: XmlEntries }) => xmlEntries(event.eventProps))).toEqual([
      { n: '1' },
      { n: '2' },
      { n: '3' },
      { n: '4' },
      {},
    ]);
    const json = await run({}, [{ ...eventRecord('e', DAY_START + HOUR, {}), attributes: undefined }]);
    expect(jsonEvents(json.sink, json.keys[0]).rows[0].eventProps).toEqual({});
  });

  it('keeps its property values as sent unless the job asks asString', async () => {
    const records = () => [eventRecord('e', DAY_START + HOUR, { n: 1.5, b: true, o: { x: [1] }, z: null })];
    const asSent = await run({}, records());
    expect(jsonEvents(asSent.sink, asSent.keys[0]).rows[0].eventProps).toEqual({
      n: 1.5,
      b: true,
      o: { x: [1] },
      z: null,
    });
    const asText = await run({ asString: true }, records());
    expect(jsonEvents(asText.sink, asText.keys[0]).rows[0].eventProps).toEqual({
      n: '1.5',
      b: 'true',
      o: '{"x":[1]}',
      z: '',
    });
  });
});

describe('the files', () => {
  it('are one series per event name and UTC day, returned sorted by key, and the key prefix may be empty', async () => {
    const records = [
      eventRecord('b', DAY_START + DAY + HOUR, { i: 1 }),
      eventRecord('b', DAY_START + HOUR, { i: 2 }),
      eventRecord('a', DAY_START + DAY + 2 * HOUR, { i: 3 }),
      eventRecord('b', DAY_START + DAY + 3 * HOUR, { i: 4 }),
      eventRecord('a', DAY_START + DAY + 4 * HOUR, { i: 5 }),
    ];
    const { keys, records: counts, sink } = await run({ keyPrefix: '', compression: 'none' }, records);
    expect(keys).toEqual([
      `job1-${RUN_TS}-a-20261123-0-env1.json`,
      `job1-${RUN_TS}-b-20261122-0-env1.json`,
      `job1-${RUN_TS}-b-20261123-0-env1.json`,
    ]);
    expect(counts).toEqual([2, 1, 2]);
    expect(exportedIds(sink, keys)).toEqual([3, 5, 2, 1, 4]);
  });

  it('are gzip-compressed by default, plain with compression none; Parquet by its codec either way', async () => {
    const records = () => [eventRecord('e', DAY_START + HOUR, { i: 1 })];
    const extensionAndGzip = async (overrides: Partial<ExportJobRunSpec>) => {
      const { keys, sink } = await run(overrides, records());
      const bytes = sink.objects.get(keys[0]) as Buffer;
      return [keys[0].slice(keys[0].indexOf('.')), isGzip(bytes), bytes.subarray(0, 4).toString('latin1')];
    };
    expect(await extensionAndGzip({})).toEqual(['.json.gz', true, expect.anything()]);
    expect(await extensionAndGzip({ format: 'csv', compression: 'gzip' })).toEqual([
      '.csv.gz',
      true,
      expect.anything(),
    ]);
    expect(await extensionAndGzip({ format: 'xml', compression: 'none' })).toEqual(['.xml', false, '<?xm']);
    expect(await extensionAndGzip({ format: 'parquet' })).toEqual(['.parquet.gzip', false, 'PAR1']);
    expect(await extensionAndGzip({ format: 'parquet', compression: 'none' })).toEqual(['.parquet', false, 'PAR1']);
  });

  it("of CSV have each event name's own property columns, sorted, from every record of the window", async () => {
    const records = [
      eventRecord('a', DAY_START + HOUR, { z: 1 }, { userId: 'u1', context: { email: 'a@b.c' } }),
      eventRecord('b', DAY_START + HOUR, { y: 'b only' }, { userId: 'u2' }),
      { ...eventRecord('a', DAY_START + HOUR, {}, { userId: 'u3' }), attributes: undefined },
      eventRecord('a', DAY_START + HOUR, { x: true, z: 2 }, { userId: 'u4' }),
    ];
    const { keys, sink } = await run({ format: 'csv', compression: 'none' }, records);
    expect(keys).toEqual([`dest/job1-${RUN_TS}-a-20261122-0-env1.csv`, `dest/job1-${RUN_TS}-b-20261122-0-env1.csv`]);
    expect(csvHeader(sink.text(keys[0]))).toEqual(['ts', 'eventName', 'identity', 'email', 'phone', 'x', 'z']);
    expect(csvRows(sink.text(keys[0]))).toEqual([
      { ts: '2026-11-22T01:00:00.000Z', eventName: 'a', identity: 'u1', email: 'a@b.c', phone: '', x: '', z: '1' },
      { ts: '2026-11-22T01:00:00.000Z', eventName: 'a', identity: 'u3', email: '', phone: '', x: '', z: '' },
      { ts: '2026-11-22T01:00:00.000Z', eventName: 'a', identity: 'u4', email: '', phone: '', x: 'true', z: '2' },
    ]);
    expect(csvHeader(sink.text(keys[1]))).toEqual(['ts', 'eventName', 'identity', 'email', 'phone', 'y']);
  });

  it('of Parquet type each property column by its values in the window, or as text with asString', async () => {
    const records = () => [
      eventRecord('e', DAY_START + HOUR, { n: 1, flag: true, mixed: 1, text: 'x' }, { userId: 'u1' }),
      eventRecord('e', DAY_START + HOUR + 1, { n: 2.5, flag: false, mixed: 'one' }, { userId: 'u2' }),
    ];
    const typed = await run({ format: 'parquet' }, records());
    const bytes = typed.sink.objects.get(typed.keys[0]) as Buffer;
    expect(parquetTypes(bytes)).toEqual({
      ts: 'INT64',
      eventName: 'BYTE_ARRAY',
      identity: 'BYTE_ARRAY',
      email: 'BYTE_ARRAY',
      phone: 'BYTE_ARRAY',
      flag: 'BOOLEAN',
      mixed: 'BYTE_ARRAY',
      n: 'DOUBLE',
      text: 'BYTE_ARRAY',
    });
    const rows = await parquetRows(bytes);
    expect(rows.map(({ ts, ...row }) => [new Date(ts as Date).getTime(), row])).toEqual([
      [
        DAY_START + HOUR,
        { eventName: 'e', identity: 'u1', email: null, phone: null, flag: true, mixed: '1', n: 1, text: 'x' },
      ],
      [
        DAY_START + HOUR + 1,
        { eventName: 'e', identity: 'u2', email: null, phone: null, flag: false, mixed: 'one', n: 2.5, text: null },
      ],
    ]);
    const asText = await run({ format: 'parquet', asString: true }, records());
    const textBytes = asText.sink.objects.get(asText.keys[0]) as Buffer;
    expect(parquetTypes(textBytes)).toMatchObject({ flag: 'BYTE_ARRAY', n: 'BYTE_ARRAY' });
    expect((await parquetRows(textBytes)).map((row) => [row.n, row.flag])).toEqual([
      ['1', 'true'],
      ['2.5', 'false'],
    ]);
  });
});

describe('the reading', () => {
  /** A reader over the records that counts the passes over its window and the batches it gave. */
  const countingReader = (records: RawRecord[]) => {
    const reader = new ArrayRawEventReader(records);
    const counts = { passes: 0, batches: 0 };
    return {
      counts,
      rawEvents: {
        async *readBatches(environmentId: string, window: { from: number; to: number }) {
          counts.passes++;
          for await (const batch of reader.readBatches(environmentId, window)) {
            counts.batches++;
            yield batch;
          }
        },
      },
    };
  };

  it('reads the window once for JSON and XML, twice for CSV and Parquet (their columns first)', async () => {
    const passes: Record<string, number> = {};
    for (const format of ['json', 'xml', 'csv', 'parquet'] as const) {
      const { counts, rawEvents } = countingReader([eventRecord('e', DAY_START + HOUR, { i: 1 })]);
      await run({ format }, [], { rawEvents });
      passes[format] = counts.passes;
    }
    expect(passes).toEqual({ json: 1, xml: 1, csv: 2, parquet: 2 });
  });

  /** A sink that reads no object until released: a run must wait for it rather than buffer the window. */
  class HeldSink extends MemorySink {
    private release!: () => void;
    private readonly released = new Promise<void>((resolve) => (this.release = resolve));

    override async write(key: string, body: Readable, options: ObjectWriteOptions): Promise<void> {
      await this.released;
      return super.write(key, body, options);
    }

    letGo(): void {
      this.release();
    }
  }

  it("reads no further than the sink takes: a file's output waits for its upload to drain", async () => {
    // 600 events of about 1 KB: 600 KB, many times what the streams buffer.
    const { counts, rawEvents } = countingReader(
      Array.from({ length: 600 }, (_, i) => eventRecord('e', DAY_START + HOUR + i, { i, pad: 'x'.repeat(1000) })),
    );
    const sink = new HeldSink();
    const running = run({ compression: 'none' }, [], { rawEvents, sink });
    await turns(20);
    expect(counts.batches).toBeLessThan(100);
    sink.letGo();
    expect((await running).records).toEqual([600]);
  });

  it('reads no more profiles than the sink takes', async () => {
    let listed = 0;
    const profiles = {
      async *listProfiles() {
        for (let i = 0; i < 600; i++) {
          listed++;
          // Random text: profile files are gzip-compressed, and gzip would take repeated text in without end.
          yield {
            userId: `u${i}`,
            attributes: { pad: randomBytes(750).toString('base64') },
            updatedAt: 1,
            firstSeen: 1,
          };
        }
      },
      listProfilesChangedSince: () => {
        throw new Error('not on a first run');
      },
    };
    const sink = new HeldSink();
    const running = run({ type: 'userProfiles' }, [], { profiles, sink });
    await turns(20);
    expect(listed).toBeLessThan(300);
    sink.letGo();
    expect((await running).records).toEqual([600]);
  });
});

describe('a profile run', () => {
  const store = () =>
    new ArrayProfileStore([
      { userId: 'u1', attributes: { email: 'u1@x.y', plan: 'pro', seats: 3 }, updatedAt: 10 },
      { userId: 'u2', attributes: { phone: '+33 1', email: 7, trial: true }, updatedAt: 20 },
      { userId: 'u3', attributes: { phone: 33 }, updatedAt: 0 },
    ]);

  it('writes every profile to CSV with its attribute columns, identity by priority, email and phone when text', async () => {
    const { keys, sink } = await run(
      { type: 'userProfiles', format: 'csv', compression: 'none', identityPriority: ['email', 'phone'] },
      [],
      { profiles: store() },
    );
    // Always gzip-compressed, whatever the job says.
    expect(keys).toEqual([`dest/org1-job1-${RUN_TS}-env1-0.csv.gz`]);
    expect(isGzip(sink.objects.get(keys[0]) as Buffer)).toBe(true);
    expect(csvHeader(sink.text(keys[0]))).toEqual([
      'identity',
      'email',
      'phone',
      // The email and phone attributes, under names of their own (a warehouse refuses a repeated column).
      'profileProps.email',
      'profileProps.phone',
      'plan',
      'seats',
      'trial',
    ]);
    expect(parseCsv(sink.text(keys[0]), { from_line: 2 })).toEqual([
      ['u1@x.y', 'u1@x.y', '', 'u1@x.y', '', 'pro', '3', ''],
      // A leading + is neutralized as a formula would be.
      ["'+33 1", '', "'+33 1", '7', "'+33 1", '', '', 'true'],
      ['', '', '', '', '33', '', '', ''],
    ]);
  });

  it('reads the profiles changed since the last successful run when it has one (a time of 0 included)', async () => {
    const identities = async (profilesChangedSince?: number) => {
      const { keys, sink } = await run({ type: 'userProfiles', profilesChangedSince }, [], { profiles: store() });
      return sink
        .text(keys[0])
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).profile.identity);
    };
    expect(await identities()).toEqual(['u1', 'u2', 'u3']);
    expect(await identities(15)).toEqual(['u2']);
    expect(await identities(0)).toEqual(['u1', 'u2', 'u3']);
  });

  it('writes Parquet by its codec, typed columns, or text with asString', async () => {
    const typed = await run({ type: 'userProfiles', format: 'parquet', compression: 'none' }, [], {
      profiles: store(),
    });
    expect(typed.keys).toEqual([`dest/org1-job1-${RUN_TS}-env1-0.parquet.gzip`]);
    const bytes = typed.sink.objects.get(typed.keys[0]) as Buffer;
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(parquetTypes(bytes)).toMatchObject({ seats: 'DOUBLE', trial: 'BOOLEAN', plan: 'BYTE_ARRAY' });
    expect((await parquetRows(bytes)).map((row) => [row.identity, row.seats, row.trial])).toEqual([
      ['u1', 3, null],
      ['u2', null, true],
      ['u3', null, null],
    ]);
    const asText = await run({ type: 'userProfiles', format: 'parquet', asString: true }, [], { profiles: store() });
    const textBytes = asText.sink.objects.get(asText.keys[0]) as Buffer;
    expect(parquetTypes(textBytes)).toMatchObject({ seats: 'BYTE_ARRAY', trial: 'BYTE_ARRAY' });
    expect((await parquetRows(textBytes)).map((row) => row.seats)).toEqual(['3', null, null]);
  });

  it('writes XML profiles, their attributes as text with asString', async () => {
    const { keys, sink } = await run({ type: 'userProfiles', format: 'xml', asString: true }, [], {
      profiles: store(),
    });
    expect(keys).toEqual([`dest/org1-job1-${RUN_TS}-env1-0.xml.gz`]);
    const profiles = xmlFile(sink.text(keys[0])).Profiles.Profile;
    expect(profiles[1].profile).toEqual({ identity: 'u2', phone: '+33 1' });
    expect(xmlEntries(profiles[1].profileProps)).toEqual({ phone: '+33 1', email: '7', trial: 'true' });
    const json = await run({ type: 'userProfiles', asString: true }, [], { profiles: store() });
    expect(JSON.parse(json.sink.text(json.keys[0]).split('\n')[0]).profileProps).toEqual({
      email: 'u1@x.y',
      plan: 'pro',
      seats: '3',
    });
  });
});

describe('a run that fails', () => {
  /** Events of two names, enough for one file each. */
  const records = () =>
    Array.from({ length: 12 }, (_, i) => eventRecord(i % 2 ? 'a' : 'b', DAY_START + HOUR + i, { i }));

  it('when its signal is aborted, rejects with the reason and leaves no object', async () => {
    for (const type of ['allEvents', 'userProfiles'] as const) {
      const controller = new AbortController();
      controller.abort(new Error('time limit'));
      const sink = new MemorySink();
      await expect(
        run({ type }, records(), {
          signal: controller.signal,
          sink,
          profiles: new ArrayProfileStore([{ userId: 'u1', attributes: {}, updatedAt: 1 }]),
        }),
      ).rejects.toThrow('time limit');
      expect(sink.objects.size).toBe(0);
    }
  });

  it('when aborted while reading, rejects and aborts the files still open', async () => {
    const controller = new AbortController();
    const reader = new ArrayRawEventReader(records());
    const rawEvents = {
      async *readBatches(environmentId: string, window: { from: number; to: number }) {
        for await (const batch of reader.readBatches(environmentId, window)) {
          yield batch;
          controller.abort(new Error('time limit'));
        }
      },
    };
    const sink = new MemorySink();
    await expect(run({}, [], { rawEvents, signal: controller.signal, sink })).rejects.toThrow('time limit');
    expect(sink.objects.size).toBe(0);
  });

  it('rejects only once the open uploads have ended, aborted', async () => {
    const uploads: { key: string; ended: boolean }[] = [];
    class TrackingSink extends MemorySink {
      override async write(key: string, body: Readable, options: ObjectWriteOptions): Promise<void> {
        const upload = { key, ended: false };
        uploads.push(upload);
        try {
          // An upload that takes a while to notice the abort, as a multipart upload does.
          await super.write(key, body, options);
        } finally {
          await turns(5);
          upload.ended = true;
        }
      }
    }
    const reader = new ArrayRawEventReader(records());
    const rawEvents = {
      async *readBatches(environmentId: string, window: { from: number; to: number }) {
        yield* reader.readBatches(environmentId, window);
        throw new Error('raw log unreadable');
      },
    };
    const sink = new TrackingSink();
    await expect(run({}, [], { rawEvents, sink })).rejects.toThrow('raw log unreadable');
    expect(uploads.map((upload) => upload.ended)).toEqual([true, true]);
    expect(sink.objects.size).toBe(0);
  });

  it('when the profile store fails midway, leaves no object', async () => {
    const profiles = {
      async *listProfiles() {
        yield { userId: 'u1', attributes: {}, updatedAt: 1, firstSeen: 1 };
        throw new Error('store unavailable');
      },
      listProfilesChangedSince: () => {
        throw new Error('not this one');
      },
    };
    const sink = new MemorySink();
    await expect(run({ type: 'userProfiles' }, [], { profiles, sink })).rejects.toThrow('store unavailable');
    expect(sink.objects.size).toBe(0);
  });

  it('when the reader fails midway, rejects with its error and completes no object', async () => {
    const reader = new ArrayRawEventReader(records());
    const rawEvents = {
      async *readBatches(environmentId: string, window: { from: number; to: number }) {
        let batches = 0;
        for await (const batch of reader.readBatches(environmentId, window)) {
          if (batches++ === 2) throw new Error('raw log unreadable');
          yield batch;
        }
      },
    };
    const sink = new MemorySink();
    await expect(run({}, [], { rawEvents, sink })).rejects.toThrow('raw log unreadable');
    expect(sink.objects.size).toBe(0);
  });

  it('when an object fails as it completes, rejects with its error after the other files are written', async () => {
    class RefusingSink extends MemorySink {
      override async write(key: string, body: Readable, options: ObjectWriteOptions): Promise<void> {
        await super.write(key, body, options);
        if (key.includes('-b-')) {
          this.objects.delete(key);
          throw new Error('destination refused');
        }
      }
    }
    const sink = new RefusingSink();
    await expect(run({}, records(), { sink })).rejects.toThrow('destination refused');
    expect([...sink.objects.keys()]).toEqual([`dest/job1-${RUN_TS}-a-20261122-0-env1.json.gz`]);
    expect(
      gunzipSync(sink.objects.get(`dest/job1-${RUN_TS}-a-20261122-0-env1.json.gz`) as Buffer).length,
    ).toBeGreaterThan(0);
  });
});
