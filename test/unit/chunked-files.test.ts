/**
 * The chunker (lambdas/core/export/chunked-files.ts) on its own, with a small text format: every chunk a
 * complete file (header, rows, trailer) of at most the limit, written as it is produced; a failed or
 * destroyed upload leaves no object and fails the group.
 */
import { gunzipSync } from 'node:zlib';
import { ChunkedFiles, MAX_FILE_BYTES } from '../../lambdas/core/export/chunked-files';
import type { EncodedRow, OpenFile, RowFormat } from '../../lambdas/core/export/job-formats';
import type { ObjectSink } from '../../lambdas/core/export/pipeline';
import { MemorySink } from '../support/export-job-fixtures';

const HEADER = '[\n';
const TRAILER = ']\n';

/** Rows as lines between a header and a trailer; output is ready once `readyAt` characters wait. */
function linesFormat(readyAt = 1): RowFormat<string> {
  return {
    contentType: 'text/x-lines',
    open(): OpenFile<string> {
      let pending = HEADER;
      let size = Buffer.byteLength(HEADER) + Buffer.byteLength(TRAILER);
      return {
        encode: (row) => ({ text: `${row}\n`, bytes: Buffer.byteLength(`${row}\n`) }) as EncodedRow,
        add(encoded) {
          pending += (encoded as EncodedRow & { text: string }).text;
          size += encoded.bytes;
        },
        get size() {
          return size;
        },
        take() {
          if (pending.length < readyAt) return undefined;
          const text = pending;
          pending = '';
          return text;
        },
        finish() {
          const text = pending + TRAILER;
          pending = '';
          return text;
        },
      };
    },
  };
}

const keyOf = (index: number) => `out/part-${index}.txt`;
const bytesOf = (rows: string[]) => rows.reduce((sum, row) => sum + Buffer.byteLength(`${row}\n`), 0);
const FRAME = Buffer.byteLength(HEADER) + Buffer.byteLength(TRAILER);

async function writeAll(rows: string[], options: { maxBytes?: number; gzip?: boolean; readyAt?: number } = {}) {
  const sink = new MemorySink();
  const files = new ChunkedFiles({
    format: linesFormat(options.readyAt),
    sink,
    keyOf: options.gzip ? (index) => `${keyOf(index)}.gz` : keyOf,
    gzip: options.gzip ?? false,
    maxBytes: options.maxBytes,
  });
  for (const row of rows) await files.add(row);
  return { written: await files.close(), sink };
}

/** The rows of a file, checking that it is a complete file: its header, then lines, then its trailer. */
function rowsOfFile(text: string): string[] {
  expect(text.startsWith(HEADER)).toBe(true);
  expect(text.endsWith(TRAILER)).toBe(true);
  const body = text.slice(HEADER.length, text.length - TRAILER.length);
  return body === '' ? [] : body.slice(0, -1).split('\n');
}

describe('ChunkedFiles', () => {
  it('defaults to files of 100 MB', () => {
    expect(MAX_FILE_BYTES).toBe(100 * 1024 * 1024);
  });

  it('writes rows into complete files of at most the limit, closing each only before a row that would not fit', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => `row ${i} ${'x'.repeat((i * 7) % 23)} é`);
    const maxBytes = 120;
    const { written, sink } = await writeAll(rows, { maxBytes });

    expect(written.map((file) => file.key)).toEqual(written.map((_, index) => keyOf(index)));
    expect([...sink.objects.keys()].sort()).toEqual(written.map((file) => file.key).sort());
    const perFile = written.map((file) => rowsOfFile(sink.text(file.key)));
    expect(perFile.flat()).toEqual(rows);
    written.forEach((file, index) => {
      expect(file.records).toBe(perFile[index].length);
      expect(file.records).toBeGreaterThan(0);
      expect(file.bytes).toBe(sink.objects.get(file.key)!.length);
      expect(file.bytes).toBe(FRAME + bytesOf(perFile[index]));
      expect(file.bytes).toBeLessThanOrEqual(maxBytes);
      // Closed only because the next row did not fit.
      if (index < written.length - 1) {
        expect(file.bytes + bytesOf([perFile[index + 1][0]])).toBeGreaterThan(maxBytes);
      }
    });
  });

  it('fills a file up to the limit exactly', async () => {
    const rows = ['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee'];
    const { written } = await writeAll(rows, { maxBytes: FRAME + 2 * 5 });
    expect(written.map((file) => [file.key, file.records, file.bytes])).toEqual([
      [keyOf(0), 2, FRAME + 10],
      [keyOf(1), 2, FRAME + 10],
      [keyOf(2), 1, FRAME + 5],
    ]);
  });

  it('gives a row larger than the limit a file of its own, and no empty file before it', async () => {
    const { written, sink } = await writeAll(['small', 'x'.repeat(50), 'tiny'], { maxBytes: 20 });
    expect(written.map((file) => rowsOfFile(sink.text(file.key)))).toEqual([['small'], ['x'.repeat(50)], ['tiny']]);
  });

  it('gives a first row larger than the limit a file of its own, with no empty file before it', async () => {
    const { written, sink } = await writeAll(['x'.repeat(50), 'tiny'], { maxBytes: 20 });
    expect(written.map((file) => rowsOfFile(sink.text(file.key)))).toEqual([['x'.repeat(50)], ['tiny']]);
  });

  it('writes the same files when the format holds its output back until the file is finished', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `held ${i}`);
    const { written, sink } = await writeAll(rows, { maxBytes: 40, readyAt: Number.MAX_SAFE_INTEGER });
    expect(written.length).toBeGreaterThan(1);
    expect(written.flatMap((file) => rowsOfFile(sink.text(file.key)))).toEqual(rows);
  });

  it('writes no file for a group without rows', async () => {
    const { written, sink } = await writeAll([]);
    expect(written).toEqual([]);
    expect(sink.objects.size).toBe(0);
  });

  it('gzips each file when asked, counting the compressed bytes', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `gzip row ${i % 3}`);
    const { written, sink } = await writeAll(rows, { maxBytes: 150, gzip: true });
    expect(written.length).toBeGreaterThan(1);
    expect(written.flatMap((file) => rowsOfFile(sink.text(file.key)))).toEqual(rows);
    for (const file of written) {
      const object = sink.objects.get(file.key)!;
      expect(object[0]).toBe(0x1f);
      expect(object[1]).toBe(0x8b);
      expect(file.bytes).toBe(object.length);
      expect(gunzipSync(object).length).toBeLessThanOrEqual(150);
    }
  });

  it("hands the sink the format's content type and the caller's signal", async () => {
    const sink = new MemorySink();
    const signal = new AbortController().signal;
    const files = new ChunkedFiles({ format: linesFormat(), sink, keyOf, gzip: false, signal });
    void files.add('a');
    await files.close();
    expect(sink.options.get(keyOf(0))).toEqual({ contentType: 'text/x-lines', signal });
  });

  it('waits for the file output to drain while the sink does not read, then goes on', async () => {
    let startReading!: () => void;
    const reading = new Promise<void>((resolve) => (startReading = resolve));
    const objects = new Map<string, string>();
    const slow: ObjectSink = {
      async write(key, body) {
        await reading;
        let text = '';
        for await (const part of body) text += String(part);
        objects.set(key, text);
      },
    };
    const files = new ChunkedFiles({ format: linesFormat(), sink: slow, keyOf, gzip: false });
    const big = 'y'.repeat(10_000);
    let waited: Promise<void> | undefined;
    let added = 0;
    while (waited === undefined && added < 100) {
      waited = files.add(big);
      added++;
    }
    // The streams' buffers (16 KiB each) fill within a few rows: the caller is asked to wait.
    expect(waited).toBeInstanceOf(Promise);
    let drained = false;
    void waited!.then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    startReading();
    await waited;
    const written = await files.close();
    expect(written).toEqual([{ key: keyOf(0), records: added, bytes: FRAME + added * 10_001 }]);
    expect(rowsOfFile(objects.get(keyOf(0))!)).toHaveLength(added);
  });

  it('fails the group with the sink error and leaves no object of the file that was open', async () => {
    const failure = new Error('destination refused');
    const kept = new Map<string, string>();
    const failing: ObjectSink = {
      async write(key, body) {
        let text = '';
        for await (const part of body) {
          text += String(part);
          if (key === keyOf(1)) throw failure;
        }
        kept.set(key, text);
      },
    };
    const files = new ChunkedFiles({ format: linesFormat(), sink: failing, keyOf, gzip: false, maxBytes: 30 });
    const add = async () => {
      for (let i = 0; i < 1000; i++) {
        await files.add(`row ${i}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await expect(add()).rejects.toBe(failure);
    await expect(files.close()).rejects.toBe(failure);
    expect([...kept.keys()]).toEqual([keyOf(0)]);
  });

  it('refuses rows after its upload failed, and close reports that failure', async () => {
    const failure = new Error('bucket gone');
    const refusing: ObjectSink = {
      async write(_key, body) {
        body.resume();
        throw failure;
      },
    };
    const files = new ChunkedFiles({ format: linesFormat(), sink: refusing, keyOf, gzip: false });
    void files.add('first');
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => files.add('second')).toThrow(failure);
    await expect(files.close()).rejects.toBe(failure);
  });

  it('reports a failure of a finished file at close', async () => {
    const failure = new Error('completion refused');
    const files = new ChunkedFiles({
      format: linesFormat(),
      sink: {
        async write(_key, body) {
          for await (const part of body) void part;
          throw failure;
        },
      },
      keyOf,
      gzip: false,
    });
    void files.add('only');
    await expect(files.close()).rejects.toBe(failure);
  });

  it.each([false, true])(
    'destroy aborts the open upload (gzip %s): no object remains and close reports the error',
    async (gzip) => {
      const sink = new MemorySink();
      const aborted: unknown[] = [];
      const watching: ObjectSink = {
        write: (key, body, options) =>
          sink.write(key, body, options).catch((error: unknown) => {
            aborted.push(error);
            throw error;
          }),
      };
      const files = new ChunkedFiles({ format: linesFormat(), sink: watching, keyOf, gzip });
      void files.add('one');
      void files.add('two');
      await new Promise((resolve) => setImmediate(resolve));
      const failure = new Error('run cut short');
      files.destroy(failure);
      // The first error stays the one reported.
      files.destroy(new Error('later'));
      expect(() => files.add('three')).toThrow(failure);
      await expect(files.close()).rejects.toBe(failure);
      expect(sink.objects.size).toBe(0);
      expect(aborted).toEqual([failure]);
    },
  );

  it('reports the error of a group destroyed before its first row, and writes nothing', async () => {
    const sink = new MemorySink();
    const files = new ChunkedFiles({ format: linesFormat(), sink, keyOf, gzip: false });
    const failure = new Error('another group failed');
    files.destroy(failure);
    expect(() => files.add('late')).toThrow(failure);
    await expect(files.close()).rejects.toBe(failure);
    expect(sink.objects.size).toBe(0);
  });

  it('keeps the files already finished when destroyed between files, and still reports the error', async () => {
    const sink = new MemorySink();
    const files = new ChunkedFiles({ format: linesFormat(), sink, keyOf, gzip: false, maxBytes: FRAME + 4 });
    void files.add('abc');
    void files.add('def');
    await new Promise((resolve) => setImmediate(resolve));
    const failure = new Error('stop');
    files.destroy(failure);
    await expect(files.close()).rejects.toBe(failure);
    expect([...sink.objects.keys()]).toEqual([keyOf(0)]);
    expect(sink.text(keyOf(0))).toBe(`${HEADER}abc\n${TRAILER}`);
  });
});
