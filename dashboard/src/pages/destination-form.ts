/**
 * The destination form's logic, apart from its view: the form of a stored destination, the body a
 * save sends, the bucket its policy is asked for, and where each API error belongs.
 */
import type { DestinationView } from '../../../lambdas/core/destinations';
import type { ApiError } from '../api';
import { placeErrors, type PlacedErrors } from '../form-errors';
import { fieldOfDestinationCode, PROVIDER_FIELDS, type DestinationField, type Provider } from './data-export-form';

export type { DestinationView };
export type AuthMode = 'accessKey' | 'bucketPolicy';
export type DestinationFormField = 'name' | 'provider' | DestinationField | 'mode' | 'accessKeyId' | 'secretAccessKey';

export interface DestinationForm {
  name: string;
  provider: Provider;
  bucketUrl: string;
  bucket: string;
  region: string;
  key: string;
  endpoint: string;
  mode: AuthMode;
  /** Stored key ids come back masked: editing an access-key destination means typing the key id again. */
  accessKeyId: string;
  /** Write-only; empty on edit keeps the stored secret (for the same key id). */
  secretAccessKey: string;
}

export const emptyDestinationForm = (): DestinationForm => ({
  name: '',
  provider: 'AWS',
  bucketUrl: '',
  bucket: '',
  region: '',
  key: '',
  endpoint: '',
  mode: 'accessKey',
  accessKeyId: '',
  secretAccessKey: '',
});

export function destinationFormOf(view: DestinationView): DestinationForm {
  return {
    name: view.name,
    provider: view.provider,
    bucketUrl: view.bucketUrl ?? '',
    bucket: view.bucket,
    region: view.region,
    key: view.key,
    endpoint: view.endpoint ?? '',
    mode: view.auth.mode,
    accessKeyId: '',
    secretAccessKey: '',
  };
}

/** The POST or PUT body: the provider's own fields, the auth mode's, the secret only when typed. */
export function destinationBody(form: DestinationForm, version?: number): Record<string, unknown> {
  const body: Record<string, unknown> = { name: form.name.trim(), provider: form.provider };
  for (const field of PROVIDER_FIELDS[form.provider]) if (form[field].trim() !== '') body[field] = form[field].trim();
  body.auth =
    form.mode === 'bucketPolicy'
      ? { mode: 'bucketPolicy' }
      : {
          mode: 'accessKey',
          accessKeyId: form.accessKeyId.trim(),
          ...(form.secretAccessKey ? { secretAccessKey: form.secretAccessKey } : {}),
        };
  if (version !== undefined) body.version = version;
  return body;
}

/** The bucket whose policy to show: AWS names it in the bucket URL's host (`<bucket>.s3.<region>.amazonaws.com`). */
export function bucketOf(form: DestinationForm): string | undefined {
  if (form.provider !== 'AWS') return form.bucket.trim() || undefined;
  try {
    return /^(.+?)\.s3[.-]/.exec(new URL(form.bucketUrl.trim()).hostname)?.[1];
  } catch {
    return undefined;
  }
}

export function placeDestinationErrors(error: ApiError, form: DestinationForm): PlacedErrors<DestinationFormField> {
  const visible = new Set<string>([
    'name',
    'provider',
    ...PROVIDER_FIELDS[form.provider],
    'mode',
    ...(form.mode === 'accessKey' ? ['accessKeyId', 'secretAccessKey'] : []),
  ]);
  const fieldOfPath = (path: string): DestinationFormField | undefined => {
    // auth.mode, auth.accessKeyId, auth.secretAccessKey: the auth fields are flat in the form.
    const field = path.startsWith('auth.') ? path.slice('auth.'.length).split(/[.[]/)[0] : path.split(/[.[]/)[0];
    return visible.has(field) ? (field as DestinationFormField) : undefined;
  };
  const bucket: DestinationFormField = form.provider === 'AWS' ? 'bucketUrl' : 'bucket';
  // A refused probe write in bucket-policy mode means the policy is not in the bucket yet.
  const credentials: DestinationFormField = form.mode === 'accessKey' ? 'accessKeyId' : 'mode';
  return placeErrors(error, fieldOfPath, (code) =>
    fieldOfDestinationCode(code, { credentials, bucket, endpoint: form.provider === 'Custom' ? 'endpoint' : bucket }),
  );
}

/** The export jobs a `destination_in_use` refusal names (its message lists their ids). */
export const blockingJobIds = (message: string): string[] => [...new Set(message.match(/\bjob_[A-Za-z0-9]+/g) ?? [])];
