/**
 * The one export pipeline every export style runs through:
 *   rows (async iterable of batches) -> encoder -> sink (an object that appears only when complete).
 * Streaming end to end with backpressure: memory stays flat whatever the export's size.
 */
import { once } from 'node:events';
import { Transform, type Duplex, type Readable } from 'node:stream';

export type Cell = string | number | null;

export interface Encoder {
  contentType: string;
  /** File extension without the dot. */
  extension: string;
  /** A fresh transform: batches of rows (arrays of row arrays) in, encoded bytes out. */
  createStream(): Duplex;
}

export interface ObjectWriteOptions {
  contentType: string;
  /**
   * Aborts the write, also while the destination stalls: the sink stops waiting, removes what it
   * uploaded so far, and rejects.
   */
  signal?: AbortSignal;
}

/** Where an export's bytes go. The object is visible only once complete; on failure nothing remains. */
export interface ObjectSink {
  write(key: string, body: Readable, options: ObjectWriteOptions): Promise<void>;
}

/** How long an export may run when its caller sets no limit: Lambda's 15 minutes, less time to record its outcome. */
export const RUN_TIME_LIMIT_MS = 14.5 * 60 * 1000;

/** The outcome of a run cut at its deadline: a stalled upload, usually, so it is retried (a transient failure). */
export const TIME_LIMIT_EXCEEDED = {
  error:
    'The export did not finish within its time limit: the storage provider stopped responding or was too slow. It will be retried automatically.',
  errorCode: 'time_limit_exceeded',
};

/** How long a run may take: it gives up after `timeLimitMs` (RUN_TIME_LIMIT_MS by default) or when `signal` aborts. */
export interface RunTimeLimit {
  timeLimitMs?: number;
  signal?: AbortSignal;
}

/** The signal of an export that gives up after `timeLimitMs`, or sooner when `signal` aborts. */
export function exportDeadline(timeLimitMs: number, signal?: AbortSignal): AbortSignal {
  const deadline = AbortSignal.timeout(timeLimitMs);
  return signal ? AbortSignal.any([signal, deadline]) : deadline;
}

export interface ExportResult {
  key: string;
  rowCount: number;
  byteCount: number;
}

export interface RunExportOptions {
  rows: AsyncIterable<readonly (readonly Cell[])[]>;
  encoder: Encoder;
  sink: ObjectSink;
  key: string;
  /**
   * Aborts the export (e.g. before the Lambda's time runs out), wherever it waits, for rows or for the
   * sink: the sink then leaves nothing behind.
   */
  signal?: AbortSignal;
}

export async function runExport({ rows, encoder, sink, key, signal }: RunExportOptions): Promise<ExportResult> {
  const encoded = encoder.createStream();
  let byteCount = 0;
  const body = encoded.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        byteCount += chunk.length;
        callback(null, chunk);
      },
    }),
  );
  encoded.on('error', (error) => body.destroy(error));
  // The sink may not be listening yet when the rows fail: the failure reaches it as a destroyed body
  // and the caller through this function's rejection, never as an unhandled 'error' event.
  body.on('error', () => undefined);

  // A stalled sink holds the rows back (backpressure): the abort must reach the wait for it too.
  const abort = () => encoded.destroy(signal!.reason as Error);
  signal?.addEventListener('abort', abort, { once: true });
  // The sink's adapters reject with errors.
  let sinkError: Error | undefined;
  const writing = sink.write(key, body, { contentType: encoder.contentType, signal }).catch((error: unknown) => {
    // Stop producing rows at once: nothing will read them.
    sinkError = error as Error;
    encoded.destroy(sinkError);
  });
  let rowCount = 0;
  try {
    for await (const batch of rows) {
      signal?.throwIfAborted();
      if (batch.length === 0) continue;
      if (!encoded.write(batch)) await drained(encoded);
      else await eventLoopTurn();
      rowCount += batch.length;
    }
    encoded.end();
  } catch (error) {
    encoded.destroy(error as Error);
    await writing;
    throw sinkError ?? error;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  await writing;
  if (sinkError) throw sinkError;
  return { key, rowCount, byteCount };
}

/**
 * Lets pending I/O callbacks run. Batches that are already at hand (a page read ahead) pass from the
 * source through the encoder on promises alone, which never hand control back to the event loop: the
 * source's next request would not leave, nor its response be read, nor the sink's writes complete,
 * until the rows stop coming. One turn per batch keeps that I/O going while the export works.
 */
const eventLoopTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function drained(stream: Duplex): Promise<void> {
  if (stream.destroyed) throw stream.errored ?? new Error('The export stream was closed before it finished.');
  await once(stream, 'drain');
}
