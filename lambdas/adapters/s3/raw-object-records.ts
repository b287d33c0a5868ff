/**
 * The records of one raw log object (gzip JSON lines) as its bytes arrive: gunzipped, split into
 * lines, one batch of records per decompressed chunk. Only a chunk is in memory, whatever the
 * object's size. Shared by the S3 reader and the benchmark's directory reader, so that the benchmark
 * measures the service's decoding.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { asRawRecord, decodeRawRecord, type RawRecord } from '../../core/raw-log';

/**
 * Decompressed chunks of 64 KiB rather than zlib's 16 KiB: a quarter of the chunks to join, parse and
 * hand on, for 48 KiB more memory.
 */
const GUNZIP_CHUNK_BYTES = 64 * 1024;
/**
 * Decompressed bytes zlib may hold ahead of the reader: gunzip runs on libuv's pool, so with room for
 * 16 chunks it inflates while the main thread parses, instead of waiting for each chunk to be taken.
 */
const GUNZIP_AHEAD_BYTES = 16 * GUNZIP_CHUNK_BYTES;

/** Batches of the object's records, in line order. Destroys `body` when the caller stops early or on error. */
export async function* rawObjectRecords(body: Readable): AsyncGenerator<RawRecord[]> {
  // zlib's streams take the stream options too; Node's ZlibOptions type leaves them out.
  const text = body.pipe(
    createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES, readableHighWaterMark: GUNZIP_AHEAD_BYTES } as ZlibOptions),
  );
  body.once('error', (error) => text.destroy(error));
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of text) {
      const available = rest + decoder.write(chunk as Buffer);
      const end = available.lastIndexOf('\n');
      if (end === -1) {
        rest = available;
        continue;
      }
      rest = available.slice(end + 1);
      yield decodeLines(available.slice(0, end));
    }
    rest += decoder.end();
    if (rest.trim() !== '') yield decodeLines(rest);
  } finally {
    // Stops the download when the caller stops reading early.
    body.destroy();
    text.destroy();
  }
}

/**
 * The records of complete lines. JSON text never holds a raw newline, so the lines of a chunk are
 * parsed as one JSON array (one parse per chunk instead of one per line: the reader's main cost); a
 * chunk that does not parse that way (an empty or broken line) is parsed line by line, which names
 * the broken line.
 */
function decodeLines(lines: string): RawRecord[] {
  let parsed: unknown[];
  try {
    parsed = JSON.parse(`[${lines.replaceAll('\n', ',')}]`) as unknown[];
  } catch {
    return lines
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(decodeRawRecord);
  }
  return parsed.map(asRawRecord);
}
