/**
 * Reads the raw event log from its bucket, the same on AWS (Firehose's objects) and locally (the
 * buffered log's): the hour prefixes of the window in time order, each listed in name order, each
 * object streamed through gunzip and split into lines as it arrives. Only one object's stream is
 * open at a time, and only a chunk of it is in memory, whatever the window's size.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import {
  asRawRecord,
  decodeRawRecord,
  environmentPrefix,
  hourPrefixes,
  inWindow,
  objectHour,
  RAW_OBJECT_EXTENSION,
  type RawRecord,
  type ReceiveWindow,
} from '../../core/raw-log';
import type { RawEventReader, RawLogObject, RawLogObjects } from '../../ports';

export class S3RawEventReader implements RawEventReader, RawLogObjects {
  constructor(private readonly options: { client: S3Client; bucket: string }) {}

  async *read(environmentId: string, window: ReceiveWindow): AsyncIterable<RawRecord> {
    for (const prefix of hourPrefixes(environmentId, window)) {
      for await (const key of this.objectKeys(prefix)) {
        for await (const record of this.records(key)) {
          if (inWindow(window, record.receivedAt)) yield record;
        }
      }
    }
  }

  /** All the environment's objects after `afterKey`: keys sort by hour, then by name, i.e. in receive order. */
  async *listObjects(environmentId: string, afterKey?: string): AsyncIterable<RawLogObject> {
    for await (const key of this.objectKeys(environmentPrefix(environmentId), afterKey)) yield { key, hour: objectHour(key) };
  }

  readObject(key: string): AsyncIterable<RawRecord> {
    return this.records(key);
  }

  /** The prefix's objects in name order (S3 lists keys in UTF-8 binary order), after `startAfter` when given. */
  private async *objectKeys(prefix: string, startAfter?: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token, StartAfter: token ? undefined : startAfter }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith(RAW_OBJECT_EXTENSION)) yield object.Key;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async *records(key: string): AsyncIterable<RawRecord> {
    const { Body } = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    const body = Body as Readable;
    const text = body.pipe(createGunzip());
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
        yield* decodeLines(available.slice(0, end));
      }
      rest += decoder.end();
      if (rest.trim() !== '') yield* decodeLines(rest);
    } finally {
      // Stops the download when the caller stops reading early.
      body.destroy();
      text.destroy();
    }
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
    return lines.split('\n').filter((line) => line.trim() !== '').map(decodeRawRecord);
  }
  return parsed.map(asRawRecord);
}
