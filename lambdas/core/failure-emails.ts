/**
 * The three warning emails of a failing automatic export or export job: plain, specific words (which environment,
 * which bucket, what failed, how to fix it, the deadline in UTC) as text and as HTML.
 *
 * What failed is told in the service's own words for the error's class, never with text the
 * customer's endpoint sent (an S3 error code or message could carry a link or markup, and the
 * service's sending identity would relay it). Values the customer typed (environment name, bucket,
 * folder) are shortened and, in HTML, escaped.
 */
import type { Destination } from './destination';
import type { EmailMessage } from '../ports';

export type WarningNumber = 1 | 2 | 3;

export interface FailureEmailContext {
  environmentName: string;
  /** Absent when an export job's destination was deleted. */
  destination: Destination | undefined;
  /** An export job's emails name the job; the automatic export's have none. */
  job?: {
    id: string;
    name?: string;
    /** A one-time job, run again at each hourly check until it succeeds. */
    oneTime?: boolean;
  };
  /** How the service reaches the destination: a bucket-policy destination's refusals are worded for the policy. */
  authMode?: 'accessKey' | 'bucketPolicy';
  /** The class of the customer-side error (`access_denied`, ...): the email words it. */
  errorCode: string | undefined;
  failingSince: number;
  /** When the export is (or was) stopped: failingSince + 72 h. */
  stopAt: number;
  now: number;
  settingsUrl: string;
  to: string[];
  /** What is failing, as the emails name it. @default 'automatic export' */
  exportName?: string;
}

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const count = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

function hoursLeft(context: FailureEmailContext): string {
  const hours = Math.max(0, Math.floor((context.stopAt - context.now) / 3_600_000));
  return hours >= 24
    ? `${count(Math.floor(hours / 24), 'day')} and ${count(hours % 24, 'hour')}`
    : count(hours, 'hour');
}

/** Longest a value the customer typed appears in an email, in characters. */
export const MAX_USER_VALUE_CHARS = 80;

/** What each customer-side error class tells the customer, in the service's own words. */
const ERROR_WORDING: Record<string, string> = {
  invalid_credentials:
    'The storage provider does not accept the access key: it does not know the access key id, or the secret does not match it. Check both keys, or create a new key pair.',
  access_denied:
    "The storage provider refused access: the key may not list and write objects in the bucket (or the folder), or it has been disabled. Grant it s3:ListBucket, s3:PutObject and s3:AbortMultipartUpload (or the provider's equivalent) and make sure it is active.",
  bucket_not_found: 'The bucket does not exist. Check its name and region, or create it.',
  wrong_region: 'The bucket is not in the region the settings name. Check the region.',
  endpoint_unreachable:
    'The storage endpoint could not be reached: its name does not resolve or it refuses connections. Check the endpoint URL.',
  destination_rejected:
    'The storage provider rejected the upload. Check that the endpoint is an S3-compatible API and that the bucket accepts ordinary uploads (no mandatory Object Lock or encryption headers).',
  endpoint_not_allowed: 'The storage endpoint is not allowed: it must be a public https address.',
  destination_missing:
    'The destination the export writes to was deleted. Choose an existing destination (for a job: create a new job with one).',
};
/** Bucket-policy destinations have no key: a refusal means the bucket's policy no longer grants the service's writes. */
const BUCKET_POLICY_WORDING: Record<string, string> = {
  access_denied:
    "The bucket refused the service's writes: its bucket policy no longer grants the service's export role s3:PutObject (it was removed or changed). Paste the policy shown on the destination's page into the bucket's policy again.",
};
const UNKNOWN_ERROR_WORDING = 'The storage provider refused the export. Check the destination settings.';

/** The service's words for a customer-side error class. */
export function errorWording(
  errorCode: string | undefined,
  authMode: FailureEmailContext['authMode'] = 'accessKey',
): string {
  const known = (table: Record<string, string>) =>
    errorCode !== undefined && Object.hasOwn(table, errorCode) && table[errorCode];
  return (authMode === 'bucketPolicy' && known(BUCKET_POLICY_WORDING)) || known(ERROR_WORDING) || UNKNOWN_ERROR_WORDING;
}

/** A value the customer typed, on one line and at most MAX_USER_VALUE_CHARS characters (an ellipsis marks the cut). */
export function userValue(text: string): string {
  const characters = Array.from(text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' '));
  return characters.length <= MAX_USER_VALUE_CHARS
    ? characters.join('')
    : `${characters.slice(0, MAX_USER_VALUE_CHARS - 1).join('')}…`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function failureEmail(number: WarningNumber, context: FailureEmailContext): EmailMessage {
  const environmentName = userValue(context.environmentName);
  const where = context.destination ? `the ${destinationWords(context.destination)}` : 'its deleted destination';
  const error = errorWording(context.errorCode, context.authMode);
  const job = context.job && `"${userValue(context.job.name ?? context.job.id)}"`;
  const exportName = context.exportName ?? 'automatic export';
  const ExportName = exportName.charAt(0).toUpperCase() + exportName.slice(1);
  const subject = job
    ? number === 3
      ? `Export job ${job} of ${environmentName} stopped`
      : number === 2
        ? `Reminder: export job ${job} of ${environmentName} still failing, stops ${utc(context.stopAt)}`
        : `Export job ${job} of ${environmentName} is failing`
    : number === 3
      ? `${ExportName} stopped for ${environmentName}`
      : number === 2
        ? `Reminder: ${exportName} for ${environmentName} still failing, stops ${utc(context.stopAt)}`
        : `${ExportName} for ${environmentName} is failing`;
  const what = job
    ? `The export job ${job} of environment "${environmentName}"`
    : `The ${exportName} of environment "${environmentName}"`;
  const paragraphs =
    number === 3
      ? [
          job
            ? `${what} to ${where} has failed since ${utc(context.failingSince)} and has now been stopped. A stopped job does not run again: fix the destination, then create a new job.`
            : `${what} to ${where} has failed since ${utc(context.failingSince)} and has now been stopped. No further exports will run until you fix the settings and turn the ${exportName} on again.`,
          `The last error: ${error}`,
          job
            ? `Fix the destination here: ${context.settingsUrl}`
            : `Fix the destination and enable the export again here: ${context.settingsUrl}`,
        ]
      : [
          `${what} to ${where} has been failing since ${utc(context.failingSince)}.`,
          `The error: ${error}`,
          job ? `Fix the destination here: ${context.settingsUrl}` : `Fix the settings here: ${context.settingsUrl}`,
          `If it is not fixed by ${utc(context.stopAt)} (${hoursLeft(context)} from now), the ${job ? 'job' : 'export'} will be stopped.`,
          ...(context.job?.oneTime
            ? ['The job runs again every hour until then: once the destination is fixed, it completes.']
            : []),
        ];
  const text = `${paragraphs.join('\n\n')}\n`;
  const html = `<!doctype html><html><body>${paragraphs
    .map(
      (p) =>
        `<p>${escapeHtml(p).replace(escapeHtml(context.settingsUrl), `<a href="${escapeHtml(context.settingsUrl)}">${escapeHtml(context.settingsUrl)}</a>`)}</p>`,
    )
    .join('')}</body></html>`;
  return { to: context.to, subject, text, html };
}

function destinationWords({ provider, bucket, keyPrefix }: Destination): string {
  return `${provider} bucket "${userValue(bucket)}"${keyPrefix ? ` (folder "${userValue(`${keyPrefix}/`)}")` : ''}`;
}
