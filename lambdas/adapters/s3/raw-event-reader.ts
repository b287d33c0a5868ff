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
import { decodeRawRecord, hourPrefixes, inWindow, RAW_OBJECT_EXTENSION, type RawRecord, type ReceiveWindow } from '../../core/raw-log';
import type { RawEventReader } from '../../ports';

export class S3RawEventReader implements RawEventReader {
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

  /** The prefix's objects in name order (S3 lists keys in UTF-8 binary order). */
  private async *objectKeys(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }),
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
    const lines = body.pipe(createGunzip());
    body.once('error', (error) => lines.destroy(error));
    const decoder = new StringDecoder('utf8');
    let rest = '';
    try {
      for await (const chunk of lines) {
        const text = rest + decoder.write(chunk as Buffer);
        let start = 0;
        for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
          if (end > start) yield decodeRawRecord(text.slice(start, end));
          start = end + 1;
        }
        rest = text.slice(start);
      }
      rest += decoder.end();
      if (rest.trim() !== '') yield decodeRawRecord(rest);
    } finally {
      // Stops the download when the caller stops reading early.
      body.destroy();
      lines.destroy();
    }
  }
}
