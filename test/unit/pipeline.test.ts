/** The export pipeline's own guarantees, with a local file sink: counts, backpressure, abort, no partial file. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileSink } from '../../lambdas/adapters/local/file-sink';
import { csvEncoder } from '../../lambdas/core/export/csv';
import { runExport, type Cell, type ObjectSink } from '../../lambdas/core/export/pipeline';

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
