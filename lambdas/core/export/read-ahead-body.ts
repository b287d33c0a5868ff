/**
 * Performance: an upload's body whose reading can begin before its upload does, so that a raw
 * revisions run reads (downloads, gunzips, parses and encodes) the next revision's object while the
 * current revision's upload completes and its number is recorded, instead of leaving the main thread
 * idle then. Only reading moves earlier: the caller still starts the upload, and so records the
 * number, in order, after the previous one. Reading ahead stops once `chunks` of the body wait
 * (`Readable`'s own buffering), so memory stays one bounded buffer. Measured gain, 1 M records: the
 * main thread idle 1.45 s -> 0.41 s of a run; the run's time within the noise (docs/raw-revisions.md).
 */
import { Readable } from 'node:stream';

export class ReadAheadBody {
  /** The body to upload: what was read ahead, then the rest. */
  readonly body: Readable;

  constructor(source: AsyncIterable<string>, chunks: number) {
    this.body = Readable.from(source, { objectMode: true, highWaterMark: chunks });
    // An error met while reading ahead stays in the stream (`errored`), for the upload that reads the
    // body to fail with; without a listener it would also be thrown as uncaught meanwhile.
    this.body.on('error', () => undefined);
  }

  /** Reads until `chunks` wait; a no-op once the upload reads the body. */
  start(): void {
    this.body.read(0);
  }

  /** The body will not be uploaded: stops reading and closes the source (its download with it). */
  abandon(): void {
    this.body.destroy();
  }
}
