/**
 * Destinations as the API takes them (the automatic export's settings and named destinations): parsed
 * and checked into a Destination, or refused with what to fix.
 */
import {
  bucketUrlKey,
  DestinationError,
  GCS_ENDPOINT,
  isAwsRegion,
  isBucketName,
  isRegionName,
  normalizeKeyPrefix,
  parseAwsBucketUrl,
  type Destination,
  type Provider,
} from './destination';
import { ValidationError, type FieldIssue } from './errors';
import type { Cadence } from './periods';
import { keyPrefixProblem } from './limits';

/** Where a destination is, as the API takes it: the AWS bucket URL, or bucket, region, key (and endpoint). */
export type DestinationLocationInput = Pick<
  SettingsInput,
  'provider' | 'bucketUrl' | 'bucket' | 'region' | 'key' | 'endpoint'
>;

export interface SettingsInput {
  enabled: boolean;
  cadence?: Cadence;
  provider?: Provider;
  /** AWS only. */
  bucketUrl?: string;
  /** GCP and Custom. */
  bucket?: string;
  region?: string;
  key?: string;
  /** Custom only. */
  endpoint?: string;
  accessKeyId?: string;
  /** Omitted: keep the stored one. */
  secretAccessKey?: string;
  notifyEmails?: string[];
  /** The `version` of the settings this save is based on; omitted (or 0): only when none were saved yet. */
  version?: number;
}

/** A destination the customer must fix, reported when saving settings. */
export class DestinationValidationError extends Error {
  override readonly name = 'DestinationValidationError';
  constructor(readonly destinationError: DestinationError) {
    super(destinationError.message, { cause: destinationError });
  }
}

/** The destination an input describes, or undefined when it names none; malformed ones are refused. */
export function destinationFrom(input: DestinationLocationInput | SettingsInput): Destination | undefined {
  if (!input.provider) return undefined;
  const issues: FieldIssue[] = [];
  let destination: Destination | undefined;
  if (input.provider === 'AWS') {
    const parsed = input.bucketUrl ? parseAwsBucketUrl(input.bucketUrl) : undefined;
    if (!parsed) {
      issues.push({
        path: 'bucketUrl',
        message:
          'must look like https://<bucket>.s3.<region>.amazonaws.com[/key], e.g. https://acme-exports.s3.eu-west-1.amazonaws.com/bucket',
      });
    } else {
      destination = { provider: 'AWS', ...parsed };
    }
  } else {
    const bucket = input.bucket?.trim() ?? '';
    const region = input.region?.trim() || (input.provider === 'GCP' ? 'auto' : 'us-east-1');
    if (!isBucketName(bucket))
      issues.push({
        path: 'bucket',
        message: 'must be a bucket name: 3-63 lowercase letters, digits, dots, dashes or underscores',
      });
    if (input.provider === 'Custom' && !input.endpoint)
      issues.push({
        path: 'endpoint',
        message: 'required for Custom, e.g. https://<ACCOUNT_ID>.eu.r2.cloudflarestorage.com',
      });
    if (!isRegionName(region))
      issues.push({ path: 'region', message: 'must be a region name such as europe-west1, auto or us-east-1' });
    destination = {
      provider: input.provider,
      bucket,
      region,
      keyPrefix: normalizeKeyPrefix(input.key),
      endpoint: input.provider === 'GCP' ? GCS_ENDPOINT : input.endpoint,
    };
  }
  if (input.provider === 'AWS' && destination && !isAwsRegion(destination.region)) {
    issues.push({ path: 'bucketUrl', message: `"${destination.region}" is not an AWS region name such as eu-west-1` });
  }
  // Checked here, not only by the API's schema, so no caller can aim a run outside the customer's folder.
  const keyProblem = keyPrefixProblem(
    input.provider === 'AWS' ? bucketUrlKey(input.bucketUrl ?? '') : (input.key ?? ''),
  );
  if (keyProblem)
    issues.push({ path: input.provider === 'AWS' ? 'bucketUrl' : 'key', message: `the key prefix ${keyProblem}` });
  if (issues.length > 0)
    throw new ValidationError(
      `Invalid destination. ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`,
      issues,
    );
  return destination;
}
