/**
 * The chunker and the sink end of the export pipeline for exports of many files: rows of one group
 * (an event name's day, or a profile run) go into files of at most `maxBytes` each, every chunk a
 * complete file (its header, its trailer), each written to the sink as it is produced.
 *
 * The limit counts the file's bytes before gzip (a gzip-compressed object is smaller still). A chunk is
 * closed before a row that would take it past the limit; a single row larger than the limit gets a
 * file of its own. Parquet's size is an estimate until a row group is encoded (see job-formats.ts).
 */
import { once } from 'node:events';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { OpenFile, RowFormat } from './job-formats';
import type { ObjectSink } from './pipeline';

/** DESIGN: files of at most 100 MB. */
export const MAX_FILE_BYTES = 100 * 1024 * 1024;

export interface WrittenFile {
  key: string;
  records: number;
  /** The object's bytes (after gzip when compressed). */
  bytes: number;
}

export interface ChunkedFilesOptions<Row> {
  format: RowFormat<Row>;
  sink: ObjectSink;
  /** The key of the chunk with this index (from 0). */
  keyOf: (index: number) => string;
  /** Wraps each file in gzip (the text formats' `.gz`). */
  gzip: boolean;
  maxBytes?: number;
  signal?: AbortSignal;
}

interface Chunk<Row> {
  key: string;
  file: OpenFile<Row>;
  body: PassThrough;
  records: number;
  counted: { bytes: number };
  upload: Promise<void>;
}

/** One group's files: `add` rows, then `close`. Memory: the open file's buffer and the sink's parts. */
export class ChunkedFiles<Row> {
  private chunk: Chunk<Row> | undefined;
  private nextIndex = 0;
  private readonly finished: Promise<WrittenFile>[] = [];
  private readonly aborted: Promise<never>[] = [];
  /** The first failure: a sink's rejection (its adapters reject with errors) or the caller's `destroy`. */
  private failure: Error | undefined;
  private readonly maxBytes: number;

  constructor(private readonly options: ChunkedFilesOptions<Row>) {
    this.maxBytes = options.maxBytes ?? MAX_FILE_BYTES;
  }

  /**
   * Adds a row. Returns a promise only when the caller must wait for the file's output to drain: a
   * row that needs no wait costs no promise (most rows; a run adds millions).
   */
  add(row: Row): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    let chunk = this.chunk ?? this.open();
    const encoded = chunk.file.encode(row);
    if (chunk.records > 0 && chunk.file.size + encoded.bytes > this.maxBytes) {
      this.finishChunk(chunk);
      chunk = this.open();
    }
    chunk.file.add(encoded);
    chunk.records++;
    const ready = chunk.file.take();
    return ready !== undefined && !chunk.body.write(ready) ? this.drained(chunk) : undefined;
  }

  /** Finishes the open chunk and waits for every object to be complete (or, after a failure, aborted). */
  async close(): Promise<WrittenFile[]> {
    if (this.chunk && this.failure === undefined) this.finishChunk(this.chunk);
    const written = await Promise.allSettled([...this.finished, ...this.aborted]);
    if (this.failure !== undefined) throw this.failure;
    const failed = written.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return written.map((result) => (result as PromiseFulfilledResult<WrittenFile>).value);
  }

  /** Stops writing: the open upload is aborted by the sink, leaving no partial object. */
  destroy(error: Error): void {
    this.failure ??= error;
    if (!this.chunk) return;
    this.chunk.body.destroy(error);
    this.aborted.push(this.chunk.upload.then(() => undefined as never));
    this.chunk = undefined;
  }

  private open(): Chunk<Row> {
    const { format, sink, keyOf, gzip, signal } = this.options;
    const key = keyOf(this.nextIndex++);
    const body = new PassThrough();
    const counted = { bytes: 0 };
    const compressed: Readable = gzip ? body.pipe(createGzip()) : body;
    if (gzip) body.on('error', (error) => compressed.destroy(error));
    const objectBody = compressed.pipe(
      new Transform({
        transform(data: Buffer, _encoding, callback) {
          counted.bytes += data.length;
          callback(null, data);
        },
      }),
    );
    compressed.on('error', (error) => objectBody.destroy(error));
    objectBody.on('error', () => undefined);
    const upload = sink.write(key, objectBody, { contentType: format.contentType, signal }).catch((error: unknown) => {
      this.failure ??= error as Error;
      body.destroy(this.failure);
      throw error;
    });
    // A failure is reported by `add` or `close`, never as an unhandled rejection meanwhile.
    upload.catch(() => undefined);
    const chunk: Chunk<Row> = { key, file: format.open(), body, records: 0, counted, upload };
    this.chunk = chunk;
    return chunk;
  }

  private finishChunk(chunk: Chunk<Row>): void {
    chunk.body.end(chunk.file.finish());
    this.chunk = undefined;
    const written = chunk.upload.then(() => ({ key: chunk.key, records: chunk.records, bytes: chunk.counted.bytes }));
    written.catch(() => undefined);
    this.finished.push(written);
  }

  private async drained(chunk: Chunk<Row>): Promise<void> {
    await Promise.race([once(chunk.body, 'drain'), chunk.upload]);
    if (this.failure !== undefined) throw this.failure;
  }
}
