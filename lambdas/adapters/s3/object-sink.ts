/**
 * The export sink for S3 and S3-compatible buckets: the body is streamed as a multipart upload, so at
 * most `queueSize` parts are in memory whatever the export's size, and the object appears only when
 * the upload is completed. A body smaller than one part goes up as a single PutObject (also atomic).
 */
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import type { ObjectWriteOptions } from '../../core/export/pipeline';
import { logger } from '../../core/log';
import type { ObjectSink } from '../../ports';

/** S3's smallest part size (except for the last part). */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
/** S3's minimum: the least memory per part in flight (up to 10,000 parts: objects up to 50 GB). */
const DEFAULT_PART_SIZE_BYTES = MIN_PART_SIZE_BYTES;
const DEFAULT_QUEUE_SIZE = 4;
/**
 * The longest the abort of a failed upload may take: it goes to the endpoint that may just have stalled
 * the upload, within the few seconds a run keeps back to record its failure.
 */
const ABORT_TIME_LIMIT_MS = 10_000;

export interface S3ObjectSinkOptions {
  client: S3Client;
  bucket: string;
  /** Prepended to every key, joined with exactly one '/'. */
  keyPrefix?: string;
  partSizeBytes?: number;
  /** Parts uploaded in parallel; memory stays within about queueSize x partSizeBytes. */
  queueSize?: number;
}

export class S3ObjectSink implements ObjectSink {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly partSizeBytes: number;
  private readonly queueSize: number;

  constructor(options: S3ObjectSinkOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.keyPrefix = (options.keyPrefix ?? '').replace(/\/+$/, '');
    this.partSizeBytes = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (this.partSizeBytes < MIN_PART_SIZE_BYTES) {
      throw new RangeError(`partSizeBytes must be at least ${MIN_PART_SIZE_BYTES} (S3's minimum part size).`);
    }
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1) {
      throw new RangeError('queueSize must be a positive integer.');
    }
  }

  async write(key: string, body: Readable, options: ObjectWriteOptions): Promise<void> {
    const objectKey = this.objectKey(key);
    // The sink aborts a failed multipart upload itself rather than through lib-storage: with
    // leavePartsOnError false, a failing abort replaces the upload's error with its own (always on
    // s3rver, which has no AbortMultipartUpload; on S3 when the credentials lack
    // s3:AbortMultipartUpload), and Upload.abort() rejects done() before the abort is even sent. done()
    // rejects only once no part request is in flight (a body error included: the uploader meets it on
    // its next read), so aborting then leaves no part behind. The write's signal reaches every request
    // of the upload, so a stalled part or completion fails at once, and so does done().
    const upload = new Upload({
      client: options.signal ? abortableBy(this.client, options.signal) : this.client,
      params: { Bucket: this.bucket, Key: objectKey, Body: body, ContentType: options.contentType },
      partSize: this.partSizeBytes,
      queueSize: this.queueSize,
      leavePartsOnError: true,
    });
    // The uploaders may be waiting for the body's next part: it ends with the abort too.
    const abort = () => body.destroy(options.signal!.reason as Error);
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } catch (error) {
      if (upload.uploadId) await this.abortMultipartUpload(objectKey, upload.uploadId);
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  private objectKey(key: string): string {
    return this.keyPrefix ? `${this.keyPrefix}/${key.replace(/^\/+/, '')}` : key;
  }

  /**
   * Best effort: the upload's own error is the one to report. Parts a failed abort leaves are only
   * removed by an AbortIncompleteMultipartUpload lifecycle rule, hence the warning.
   */
  private async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), {
        abortSignal: AbortSignal.timeout(ABORT_TIME_LIMIT_MS),
      });
    } catch (error) {
      logger.warn('Could not abort the multipart upload of a failed export: its parts remain in the bucket', {
        bucket: this.bucket,
        key,
        uploadId,
        error: error as Error,
      });
    }
  }
}

/**
 * The client, with `signal` given to each request it sends: lib-storage sends its requests without
 * one, and its own abort() leaves them running (see write).
 */
function abortableBy(client: S3Client, signal: AbortSignal): S3Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return (command: Parameters<S3Client['send']>[0], sendOptions?: { abortSignal?: AbortSignal }) =>
        target.send(command, { ...sendOptions, abortSignal: signal });
    },
  });
}
