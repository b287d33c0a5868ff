/**
 * The automatic export settings form's logic, apart from its view: which fields each provider shows,
 * the PUT body built from the form, and where each error of the API belongs.
 */
// The API's answers, as the service defines them (types only: nothing of the service is bundled).
import type { SettingsView } from '../../../lambdas/core/automatic-export-views';
import type { Provider } from '../../../lambdas/core/destination';
import type { ApiError } from '../api';
import { firstSegmentIn, placeErrors as placeFormErrors, type PlacedErrors as PlacedFormErrors } from '../form-errors';

export type { SettingsView };
export type { Provider };
export const PROVIDERS: readonly Provider[] = ['AWS', 'GCP', 'Custom'];

export type DestinationField = 'bucketUrl' | 'bucket' | 'region' | 'key' | 'endpoint';
export type FormField =
  'enabled' | 'cadence' | 'provider' | DestinationField | 'accessKeyId' | 'secretAccessKey' | 'notifyEmails';

export interface SettingsForm {
  enabled: boolean;
  cadence: 'daily' | 'weekly';
  provider: Provider;
  bucketUrl: string;
  bucket: string;
  region: string;
  key: string;
  endpoint: string;
  /** Empty: keep the stored key id (shown masked as the placeholder). */
  accessKeyId: string;
  /** Write-only; empty: keep the stored secret. */
  secretAccessKey: string;
  /** Comma- or line-separated. */
  notifyEmails: string;
}

/** The destination fields each provider takes (Bucket's settings page: a URL for AWS, separate fields otherwise). */
export const PROVIDER_FIELDS: Record<Provider, readonly DestinationField[]> = {
  AWS: ['bucketUrl'],
  GCP: ['bucket', 'region', 'key'],
  Custom: ['bucket', 'region', 'key', 'endpoint'],
};

export function formOf(settings: SettingsView): SettingsForm {
  return {
    enabled: settings.enabled,
    cadence: settings.cadence,
    provider: settings.provider ?? 'AWS',
    bucketUrl: settings.bucketUrl ?? '',
    bucket: settings.bucket ?? '',
    region: settings.region ?? '',
    key: settings.key ?? '',
    endpoint: settings.endpoint ?? '',
    accessKeyId: '',
    secretAccessKey: '',
    notifyEmails: settings.notifyEmails.join(', '),
  };
}

export const parseEmails = (text: string): string[] =>
  text
    .split(/[\s,;]+/)
    .map((email) => email.trim())
    .filter(Boolean);

/** The PUT body: the provider's own fields only, credentials only when typed, and the version read. */
export function saveBody(form: SettingsForm, version: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    enabled: form.enabled,
    cadence: form.cadence,
    notifyEmails: parseEmails(form.notifyEmails),
    version,
  };
  const destination = PROVIDER_FIELDS[form.provider].filter((field) => form[field].trim() !== '');
  if (form.enabled || destination.length > 0) {
    body.provider = form.provider;
    for (const field of destination) body[field] = form[field].trim();
  }
  if (form.accessKeyId.trim()) body.accessKeyId = form.accessKeyId.trim();
  if (form.secretAccessKey) body.secretAccessKey = form.secretAccessKey;
  return body;
}

/** The field a destination check's failure belongs to (these answers carry no `issues`). */
export function fieldOfDestinationCode<Field extends string>(
  code: string,
  fields: { credentials: Field; bucket: Field; endpoint: Field },
): Field | undefined {
  switch (code) {
    case 'invalid_credentials':
    case 'access_denied':
      return fields.credentials;
    case 'bucket_not_found':
      return fields.bucket;
    case 'endpoint_unreachable':
    case 'endpoint_not_allowed':
      return fields.endpoint;
    default:
      return undefined;
  }
}

export type PlacedErrors = PlacedFormErrors<FormField>;

/** Places an API error: each issue at the field its path names, a destination failure at its field. */
export function placeErrors(error: ApiError, form: SettingsForm): PlacedErrors {
  const visible = new Set<string>([
    'enabled',
    'cadence',
    'provider',
    ...PROVIDER_FIELDS[form.provider],
    'accessKeyId',
    'secretAccessKey',
    'notifyEmails',
  ]);
  const bucket: FormField = form.provider === 'AWS' ? 'bucketUrl' : 'bucket';
  return placeFormErrors<FormField>(error, firstSegmentIn(visible), (code) =>
    fieldOfDestinationCode(code, {
      credentials: 'accessKeyId',
      bucket,
      endpoint: form.provider === 'Custom' ? 'endpoint' : bucket,
    }),
  );
}
