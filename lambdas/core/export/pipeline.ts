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

/** Where an export's bytes go. The object is visible only once complete; on failure nothing remains. */
export interface ObjectSink {
  write(key: string, body: Readable, options: { contentType: string }): Promise<void>;
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
  /** Aborts the export (e.g. before the Lambda's time runs out): the sink then leaves nothing behind. */
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

  let sinkError: unknown;
  const writing = sink.write(key, body, { contentType: encoder.contentType }).catch((error: unknown) => {
    // Stop producing rows at once: nothing will read them.
    sinkError = error;
    encoded.destroy(error as Error);
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
