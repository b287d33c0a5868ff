/**
 * Download links to the exports bucket: pre-signed GetObject URLs that make the browser save the file
 * under its export name with the right content type, whatever metadata the object was stored with.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DownloadLinks } from '../../ports';

const CONTENT_TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export class S3DownloadLinks implements DownloadLinks {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: { client: S3Client; bucket: string }) {
    this.client = options.client;
    this.bucket = options.bucket;
  }

  createDownloadUrl(key: string, options: { fileName: string; expiresInSeconds: number }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: attachmentDisposition(options.fileName),
      ResponseContentType: contentTypeOf(options.fileName),
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds });
  }
}

export function contentTypeOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  const extension = dot < 0 ? '' : fileName.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES_BY_EXTENSION[extension] ?? DEFAULT_CONTENT_TYPE;
}

/**
 * `attachment; filename="..."` (RFC 6266). Quotes, backslashes and control characters cannot break out
 * of the quoted name (nor inject a header line): they become '_'. A name that is not plain ASCII also
 * gets its exact UTF-8 form in `filename*`, which browsers prefer, with the ASCII name as fallback.
 */
export function attachmentDisposition(fileName: string): string {
  const asciiName = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const disposition = `attachment; filename="${asciiName}"`;
  return asciiName === fileName ? disposition : `${disposition}; filename*=UTF-8''${encodeRfc5987(fileName)}`;
}

/** Percent-encoding for an RFC 5987 value: encodeURIComponent leaves a few characters it must not. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
