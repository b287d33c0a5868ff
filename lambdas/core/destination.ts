/**
 * Customer destinations: S3-compatible buckets (AWS S3, Google Cloud Storage with HMAC keys, or any
 * S3-compatible endpoint such as Cloudflare R2 or MinIO), and the errors they can answer, each phrased
 * so the customer knows what to fix.
 */

export type Provider = 'AWS' | 'GCP' | 'Custom';
export const PROVIDERS: readonly Provider[] = ['AWS', 'GCP', 'Custom'];

export interface Destination {
  provider: Provider;
  bucket: string;
  region: string;
  /** Folder inside the bucket, without leading or trailing '/'; '' for the bucket's root. */
  keyPrefix: string;
  /** The S3 API endpoint; undefined for AWS (the SDK derives it from the region). */
  endpoint?: string;
}

export interface DestinationCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** An access key id as the API shows it: only its last four characters. */
export const maskAccessKeyId = (accessKeyId: string): string =>
  `${'*'.repeat(Math.max(4, accessKeyId.length - 4))}${accessKeyId.slice(-4)}`;

export const GCS_ENDPOINT = 'https://storage.googleapis.com';

/**
 * A problem with the customer's destination. Its `message`, in the service's own words, is what the status
 * page shows; `code` is the run's errorCode.
 */
export abstract class DestinationError extends Error {
  /** True when retrying later may succeed without the customer changing anything. */
  abstract readonly transient: boolean;
  abstract readonly code: string;
}

export class InvalidCredentialsError extends DestinationError {
  override readonly name = 'InvalidCredentialsError';
  readonly transient = false;
  readonly code = 'invalid_credentials';
  constructor(options?: { cause?: unknown }) {
    super(
      'The access key is not valid: the storage provider does not recognize the access key id or the secret does not match it. Check both keys, or create a new key pair.',
      options,
    );
  }
}

export class AccessDeniedError extends DestinationError {
  override readonly name = 'AccessDeniedError';
  readonly transient = false;
  readonly code = 'access_denied';
  constructor(bucket: string, keyPrefix: string, options?: { cause?: unknown }) {
    super(
      `Access denied: the key is valid but may not list and write objects in bucket "${bucket}"${keyPrefix ? ` under "${keyPrefix}/"` : ''}, or the key has been disabled. Grant it s3:ListBucket, s3:PutObject and s3:AbortMultipartUpload (or the provider's equivalent) and make sure it is active.`,
      options,
    );
  }
}

export class BucketNotFoundError extends DestinationError {
  override readonly name = 'BucketNotFoundError';
  readonly transient = false;
  readonly code = 'bucket_not_found';
  constructor(bucket: string, options?: { cause?: unknown }) {
    super(`The bucket "${bucket}" does not exist. Check its name (and region), or create it.`, options);
  }
}

export class WrongRegionError extends DestinationError {
  override readonly name = 'WrongRegionError';
  readonly transient = false;
  readonly code = 'wrong_region';
  constructor(bucket: string, region: string, actualRegion: string | undefined, options?: { cause?: unknown }) {
    super(
      actualRegion
        ? `The bucket "${bucket}" is in region ${actualRegion}, not ${region}. Change the region to ${actualRegion}.`
        : `The region "${region}" does not match the bucket "${bucket}" or does not exist. Check the region's spelling, e.g. eu-west-1.`,
      options,
    );
  }
}

export class EndpointUnreachableError extends DestinationError {
  override readonly name = 'EndpointUnreachableError';
  readonly transient = false;
  readonly code = 'endpoint_unreachable';
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super(
      `The storage endpoint ${endpoint} could not be reached: its name does not resolve or it refuses connections. Check the endpoint URL (and the region).`,
      options,
    );
  }
}

/** The endpoint took longer than a settings save may wait: it hangs, or sends its answer too slowly. */
export class EndpointTooSlowError extends DestinationError {
  override readonly name = 'EndpointTooSlowError';
  readonly transient = false;
  readonly code = 'endpoint_unreachable';
  constructor(endpoint: string, seconds: number, options?: { cause?: unknown }) {
    super(
      `The storage endpoint ${endpoint} did not answer a bucket listing within ${seconds} second${seconds === 1 ? '' : 's'}. Check that the endpoint URL is the S3 API of your storage and that it is up, then save again.`,
      options,
    );
  }
}

/** The endpoint answered with a redirect: never followed, since it could lead anywhere (a private address among them). */
export class EndpointRedirectError extends DestinationError {
  override readonly name = 'EndpointRedirectError';
  readonly transient = false;
  readonly code = 'destination_rejected';
  constructor(endpoint: string, status: number, options?: { cause?: unknown }) {
    super(
      `The storage endpoint ${endpoint} answered with a redirect (HTTP ${status}) instead of an S3 answer. Redirects are not followed: enter the address of the S3 API itself.`,
      options,
    );
  }
}

/** The provider refused in a way that retrying will not change (an unexpected 4xx), or is not S3 at all. */
export class DestinationRejectedError extends DestinationError {
  override readonly name = 'DestinationRejectedError';
  readonly transient = false;
  readonly code = 'destination_rejected';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      `The storage provider rejected the export (${detail}). Check that the endpoint is an S3-compatible API and that the bucket accepts ordinary uploads (no mandatory Object Lock or encryption headers).`,
      options,
    );
  }
}

/** Not allowed as a destination (e.g. an endpoint inside a private network). */
export class ForbiddenEndpointError extends DestinationError {
  override readonly name = 'ForbiddenEndpointError';
  readonly transient = false;
  readonly code = 'endpoint_not_allowed';
}

/** Throttling, 5xx, timeouts: retried, never reported as the customer's fault. */
export class TransientDestinationError extends DestinationError {
  override readonly name = 'TransientDestinationError';
  readonly transient = true;
  readonly code = 'temporarily_unavailable';
  constructor(options?: { cause?: unknown }) {
    super('The storage provider was temporarily unavailable. The export will be retried automatically.', options);
  }
}

/** Bucket names as S3, GCS and R2 accept them (GCS also allows underscores). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
/**
 * AWS region names: `eu-west-1`, `us-gov-west-1`, `ap-southeast-5`, ... The direction word catches
 * the usual misspellings offline; a region that is well formed but does not exist fails to resolve.
 */
const AWS_REGION =
  /^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|southeast|northwest|southwest)-\d{1,2}$/;
/**
 * Any provider's region name (AWS `us-east-1`, GCS `europe-west1`, R2 `auto`): a host name label, since
 * the SDK puts it into endpoints. The one check for regions the customer sends and providers report.
 */
const REGION_NAME = /^[a-z0-9][a-z0-9-]{1,31}$/;
const AWS_BUCKET_URL = /^https:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3[.-]([a-z0-9-]+)\.amazonaws\.com(\/.*)?$/;
const AWS_GLOBAL_BUCKET_URL = /^https:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3\.amazonaws\.com(\/.*)?$/;

/** Key prefixes are folders: no leading, trailing or doubled slashes. */
export function normalizeKeyPrefix(key: string | undefined): string {
  return (key ?? '')
    .split('/')
    .filter((part) => part.length > 0)
    .join('/');
}

export const isBucketName = (name: string): boolean => BUCKET_NAME.test(name) && !name.includes('..');
export const isAwsRegion = (region: string): boolean => AWS_REGION.test(region);
export const isRegionName = (region: string): boolean => REGION_NAME.test(region);

/**
 * Parses the AWS bucket URL of the settings page, `https://<bucket>.s3.<region>.amazonaws.com[/key]`;
 * undefined when it does not have that shape.
 */
export function parseAwsBucketUrl(url: string): Pick<Destination, 'bucket' | 'region' | 'keyPrefix'> | undefined {
  const trimmed = url.trim();
  // A query or fragment is never part of a folder: such a URL was copied from somewhere else.
  if (/[?#]/.test(trimmed)) return undefined;
  const regional = AWS_BUCKET_URL.exec(trimmed);
  if (regional && isBucketName(regional[1])) {
    return { bucket: regional[1], region: regional[2], keyPrefix: normalizeKeyPrefix(safeDecode(regional[3])) };
  }
  const global = AWS_GLOBAL_BUCKET_URL.exec(trimmed);
  if (global && isBucketName(global[1])) {
    return { bucket: global[1], region: 'us-east-1', keyPrefix: normalizeKeyPrefix(safeDecode(global[2])) };
  }
  return undefined;
}

/** The key part of a bucket URL as the customer wrote it (decoded): the path without the '/' ending the host. */
export function bucketUrlKey(url: string): string {
  const path = /^https:\/\/[^/?#]+(\/[^?#]*)?$/.exec(url.trim())?.[1];
  return path ? safeDecode(path).slice(1) : '';
}

function safeDecode(path: string | undefined): string {
  if (!path) return '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
