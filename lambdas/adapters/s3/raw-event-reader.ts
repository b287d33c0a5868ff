/**
 * Reads the raw event log from its bucket, the same on AWS (Firehose's objects) and locally (the
 * buffered log's): the hour prefixes of the window in time order, each listed in name order, each
 * object streamed through gunzip and split into lines as it arrives. Only one object's stream is
 * open at a time, and only a chunk of it is in memory, whatever the window's size.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import {
  environmentPrefix,
  hourPrefixes,
  inWindow,
  objectHour,
  RAW_OBJECT_EXTENSION,
  type RawRecord,
  type ReceiveWindow,
} from '../../core/raw-log';
import type { RawEventReader, RawLogObject, RawLogObjects } from '../../ports';
import { rawObjectRecords } from './raw-object-records';

export class S3RawEventReader implements RawEventReader, RawLogObjects {
  constructor(private readonly options: { client: S3Client; bucket: string }) {}

  async *readBatches(environmentId: string, window: ReceiveWindow): AsyncIterable<RawRecord[]> {
    for (const prefix of hourPrefixes(environmentId, window)) {
      for await (const key of this.objectKeys(prefix)) {
        for await (const records of this.records(key)) {
          const inside = records.filter((record) => inWindow(window, record.receivedAt));
          if (inside.length > 0) yield inside;
        }
      }
    }
  }

  /** All the environment's objects after `afterKey`: keys sort by hour, then by name, i.e. in receive order. */
  async *listObjects(environmentId: string, afterKey?: string): AsyncIterable<RawLogObject> {
    for await (const key of this.objectKeys(environmentPrefix(environmentId), afterKey))
      yield { key, hour: objectHour(key) };
  }

  readObjectBatches(key: string): AsyncIterable<RawRecord[]> {
    return this.records(key);
  }

  /** The prefix's objects in name order (S3 lists keys in UTF-8 binary order), after `startAfter` when given. */
  private async *objectKeys(prefix: string, startAfter?: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: prefix,
          ContinuationToken: token,
          StartAfter: token ? undefined : startAfter,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith(RAW_OBJECT_EXTENSION)) yield object.Key;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async *records(key: string): AsyncIterable<RawRecord[]> {
    const { Body } = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    yield* rawObjectRecords(Body as Readable);
  }
}
