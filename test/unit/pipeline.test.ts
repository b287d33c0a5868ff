/** The export pipeline's own guarantees, with a local file sink: counts, backpressure, abort, no partial file. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileSink } from '../../lambdas/adapters/local/file-sink';
import { csvEncoder } from '../../lambdas/core/export/csv';
import {
  exportDeadline,
  runExport,
  RUN_TIME_LIMIT_MS,
  type Cell,
  type ObjectSink,
} from '../../lambdas/core/export/pipeline';

let directory: string;
beforeEach(() => (directory = mkdtempSync(join(tmpdir(), 'pipeline-'))));
afterEach(() => rmSync(directory, { recursive: true, force: true }));

async function* batches(count: number, onBatch: (index: number) => void = () => {}): AsyncGenerator<Cell[][]> {
  for (let index = 0; index < count; index++) {
    onBatch(index);
    yield Array.from({ length: 100 }, (_, row) => [`company-${index}-${row}`, row, row % 3 === 0 ? null : '=1+1']);
  }
}

describe('runExport', () => {
  it('counts rows and bytes exactly as written', async () => {
    const result = await runExport({
      rows: batches(50),
      encoder: csvEncoder(['id', 'n', 'text']),
      sink: new LocalFileSink({ directory }),
      key: 'out/file.csv',
    });
    const written = readFileSync(join(directory, 'out/file.csv'));
    expect(result).toEqual({ key: 'out/file.csv', rowCount: 5000, byteCount: written.length });
    const lines = written.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5001);
    expect(lines[0]).toBe('id,n,text');
    expect(lines[1]).toBe('company-0-0,0,');
    expect(lines[2]).toBe("company-0-1,1,'=1+1");
  });

  it('quotes cells with a comma, a quote, a line feed or a carriage return (RFC 4180)', async () => {
    async function* tricky(): AsyncGenerator<Cell[][]> {
      yield [
        ['a,b', 'q"uote', 'line\nbreak'],
        ['cr\rinside', 'plain', null],
      ];
    }
    await runExport({
      rows: tricky(),
      encoder: csvEncoder(['x', 'y', 'z']),
      sink: new LocalFileSink({ directory }),
      key: 'tricky.csv',
    });
    expect(readFileSync(join(directory, 'tricky.csv'), 'utf8')).toBe(
      'x,y,z\n"a,b","q""uote","line\nbreak"\n"cr\rinside",plain,\n',
    );
  });

  it('stops when aborted and leaves no file behind', async () => {
    const controller = new AbortController();
    const rows = batches(1000, (index) => {
      if (index === 20) controller.abort(new Error('time limit'));
    });
    await expect(
      runExport({
        rows,
        encoder: csvEncoder(['id', 'n', 'text']),
        sink: new LocalFileSink({ directory }),
        key: 'out/file.csv',
        signal: controller.signal,
      }),
    ).rejects.toThrow('time limit');
    expect(existsSync(join(directory, 'out/file.csv'))).toBe(false);
    expect(existsSync(join(directory, 'out')) ? readdirSync(join(directory, 'out')) : []).toEqual([]);
  });

  it('stops when aborted while a stalled sink holds the rows back, and hands the sink the signal', async () => {
    const controller = new AbortController();
    let signalSeen: AbortSignal | undefined;
    const stalled: ObjectSink = {
      // Reads nothing (the rows back up behind it) and settles only when the write is aborted.
      write: (_key, _body, options) =>
        new Promise((_resolve, reject) => {
          signalSeen = options.signal;
          options.signal?.addEventListener('abort', () => reject(new Error('upload aborted')), { once: true });
        }),
    };
    const aborted = setTimeout(() => controller.abort(new Error('time limit')), 50);

    await expect(
      runExport({
        rows: batches(1000),
        encoder: csvEncoder(['id', 'n', 'text']),
        sink: stalled,
        key: 'file.csv',
        signal: controller.signal,
      }),
    ).rejects.toThrow('upload aborted');
    clearTimeout(aborted);
    expect(signalSeen).toBe(controller.signal);
  });

  it('fails with the source error and leaves no file when the rows fail midway', async () => {
    async function* failing(): AsyncGenerator<Cell[][]> {
      yield* batches(5);
      throw new Error('store unavailable');
    }
    await expect(
      runExport({
        rows: failing(),
        encoder: csvEncoder(['id', 'n', 'text']),
        sink: new LocalFileSink({ directory }),
        key: 'file.csv',
      }),
    ).rejects.toThrow('store unavailable');
    expect(readdirSync(directory)).toEqual([]);
  });

  it('lets I/O callbacks run while batches already at hand flow through', async () => {
    // Batches held in memory (like a page read ahead) and a sink that consumes them in memory: the
    // export runs on promises alone, and an I/O callback (the next page's response, a file write)
    // would wait for the end of the export unless the pipeline hands the event loop a turn.
    let ioDone = false;
    stat(directory, () => (ioDone = true));
    const ioDoneAtBatch: boolean[] = [];
    let bytes = 0;
    const inMemory: ObjectSink = {
      async write(_key, body) {
        for await (const chunk of body) bytes += (chunk as Buffer).length;
      },
    };
    const result = await runExport({
      rows: batches(500, () => ioDoneAtBatch.push(ioDone)),
      encoder: csvEncoder(['id', 'n', 'text']),
      sink: inMemory,
      key: 'file.csv',
    });
    expect(result.byteCount).toBe(bytes);
    // Pending when the export started, done before its last batch.
    expect(ioDoneAtBatch.indexOf(true)).toBeGreaterThan(0);
  });
});

describe('runExport without rows or with a failing sink', () => {
  async function* none(): AsyncGenerator<Cell[][]> {}

  async function* emptyBatches(): AsyncGenerator<Cell[][]> {
    yield [];
    yield [];
  }

  it.each([
    ['no batches', none],
    ['empty batches', emptyBatches],
  ])('writes a CSV of its header alone for %s', async (_name, rows) => {
    const result = await runExport({
      rows: rows(),
      encoder: csvEncoder(['id', 'n']),
      sink: new LocalFileSink({ directory }),
      key: 'empty.csv',
    });
    expect(readFileSync(join(directory, 'empty.csv'), 'utf8')).toBe('id,n\n');
    expect(result).toEqual({ key: 'empty.csv', rowCount: 0, byteCount: 5 });
  });

  it("fails with the sink's error, not the stream's, when the sink gives up midway", async () => {
    const refused = new Error('destination refused');
    let produced = 0;
    const giving: ObjectSink = {
      async write(_key, body) {
        for await (const chunk of body) {
          void chunk;
          throw refused;
        }
      },
    };
    await expect(
      runExport({
        rows: batches(1000, () => produced++),
        encoder: csvEncoder(['id', 'n', 'text']),
        sink: giving,
        key: 'file.csv',
      }),
    ).rejects.toBe(refused);
    // The rows stop once the sink is gone.
    expect(produced).toBeLessThan(1000);
  });

  it("fails with the sink's error when the sink refuses before reading", async () => {
    const refused = new Error('no such bucket');
    await expect(
      runExport({
        rows: batches(3),
        encoder: csvEncoder(['id', 'n', 'text']),
        sink: { write: () => Promise.reject(refused) },
        key: 'file.csv',
      }),
    ).rejects.toBe(refused);
  });

  it("fails with the sink's error when the sink refuses the complete object", async () => {
    const refused = new Error('completion refused');
    const refusing: ObjectSink = {
      async write(_key, body) {
        for await (const chunk of body) void chunk;
        throw refused;
      },
    };
    await expect(
      runExport({ rows: batches(3), encoder: csvEncoder(['id', 'n', 'text']), sink: refusing, key: 'file.csv' }),
    ).rejects.toBe(refused);
  });

  it('holds the rows back while the sink does not read (backpressure), then writes them all', async () => {
    let startReading!: () => void;
    const reading = new Promise<void>((resolve) => (startReading = resolve));
    let bytes = 0;
    const slow: ObjectSink = {
      async write(_key, body) {
        await reading;
        for await (const chunk of body) bytes += (chunk as Buffer).length;
      },
    };
    let produced = 0;
    const exported = runExport({
      rows: batches(1000, () => produced++),
      encoder: csvEncoder(['id', 'n', 'text']),
      sink: slow,
      key: 'file.csv',
    });
    // Far more turns of the event loop than the export would need to pull every batch without backpressure.
    for (let turn = 0; turn < 1500; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(produced).toBeLessThan(100);
    startReading();
    const result = await exported;
    expect(produced).toBe(1000);
    expect(result.rowCount).toBe(100_000);
    expect(result.byteCount).toBe(bytes);
  });

  it('stops at once when aborted before it starts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    let produced = 0;
    const draining: ObjectSink = {
      async write(_key, body) {
        for await (const chunk of body) void chunk;
      },
    };
    await expect(
      runExport({
        rows: batches(10, () => produced++),
        encoder: csvEncoder(['id', 'n', 'text']),
        sink: draining,
        key: 'file.csv',
        signal: controller.signal,
      }),
    ).rejects.toThrow('cancelled');
    expect(produced).toBe(1);
  });
});

describe('exportDeadline', () => {
  it('aborts after the time limit', async () => {
    const signal = exportDeadline(5);
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    expect((signal.reason as Error).name).toBe('TimeoutError');
  });

  it("aborts with the caller's reason when the caller's signal aborts first", () => {
    const controller = new AbortController();
    const signal = exportDeadline(RUN_TIME_LIMIT_MS, controller.signal);
    expect(signal.aborted).toBe(false);
    const reason = new Error('shutting down');
    controller.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('gives a run as long as Lambda allows, less time to record its outcome', () => {
    expect(RUN_TIME_LIMIT_MS).toBeGreaterThan(14 * 60 * 1000);
    expect(RUN_TIME_LIMIT_MS).toBeLessThan(15 * 60 * 1000);
  });
});
