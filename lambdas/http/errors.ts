/**
 * The one place where errors become HTTP responses. Customers get the error's own message for known
 * errors and a generic one otherwise: never a stack or an SDK error string.
 */
import { DestinationValidationError } from '../core/destination-input';
import { TooManyExportsError } from '../core/manual-export';
import { DestinationInUseError } from '../core/destinations';
import { JobNotEditableError } from '../core/export-jobs';
import { RawLogUnavailableError } from '../core/raw-log';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PlanRequiredError,
  UnauthorizedError,
  ValidationError,
} from '../core/errors';
import { MAX_BODY_BYTES } from '../core/limits';
import { logger } from '../core/log';
import type { HttpResponse } from './types';

export class MethodNotAllowedError extends Error {
  override readonly name = 'MethodNotAllowedError';
  constructor(
    readonly path: string,
    readonly allowed: string[],
  ) {
    super(`${path} accepts ${allowed.join(', ')}.`);
  }
}

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor(readonly bytes: number) {
    super(
      `The request body is ${bytes > MAX_BODY_BYTES ? `over ${MAX_BODY_BYTES}` : bytes} bytes; bodies are limited to ${MAX_BODY_BYTES} bytes (1 MB). Send fewer items per request (e.g. smaller bulk batches).`,
    );
  }
}

interface ErrorMapping {
  type: new (...args: never[]) => Error;
  status: number | ((error: never) => number);
  code: string | ((error: never) => string);
}

/** A destination that fails validation answers with the status of what is wrong with it. */
const DESTINATION_STATUS: Record<string, number> = {
  invalid_credentials: 403,
  access_denied: 403,
  bucket_not_found: 404,
  temporarily_unavailable: 503,
};

/** A raw event log that refused records is throttled or recovering: a second is usually enough. */
const RAW_LOG_RETRY_AFTER_SECONDS = 1;

const MAPPINGS: ErrorMapping[] = [
  { type: ValidationError, status: 400, code: 'invalid_request' },
  { type: UnauthorizedError, status: 401, code: 'unauthorized' },
  { type: PlanRequiredError, status: 403, code: 'plan_required' },
  { type: ForbiddenError, status: 403, code: 'forbidden' },
  { type: NotFoundError, status: 404, code: 'not_found' },
  { type: MethodNotAllowedError, status: 405, code: 'method_not_allowed' },
  { type: JobNotEditableError, status: 409, code: (error: JobNotEditableError) => error.code },
  { type: DestinationInUseError, status: 409, code: 'destination_in_use' },
  { type: ConflictError, status: 409, code: 'conflict' },
  { type: PayloadTooLargeError, status: 413, code: 'payload_too_large' },
  { type: TooManyExportsError, status: 429, code: 'too_many_exports' },
  { type: RawLogUnavailableError, status: 503, code: 'temporarily_unavailable' },
  {
    type: DestinationValidationError,
    status: (error: DestinationValidationError) => DESTINATION_STATUS[error.destinationError.code] ?? 400,
    code: (error: DestinationValidationError) => error.destinationError.code,
  },
];

export function errorResponse(error: unknown): HttpResponse {
  const mapping = MAPPINGS.find((m) => error instanceof m.type);
  if (!mapping) {
    logger.error('Unhandled error', { error: error as Error });
    return {
      status: 500,
      body: { error: { code: 'internal_error', message: 'Something went wrong on our side. Please try again.' } },
    };
  }
  const known = error as never as Error;
  const status = typeof mapping.status === 'function' ? mapping.status(error as never) : mapping.status;
  const code = typeof mapping.code === 'function' ? mapping.code(error as never) : mapping.code;
  const body: { code: string; message: string; issues?: unknown } = { code, message: known.message };
  if (known instanceof ValidationError && known.issues.length > 0) body.issues = known.issues;
  const headers: Record<string, string> = {};
  if (known instanceof MethodNotAllowedError) headers.allow = known.allowed.join(', ');
  if (known instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
  if (known instanceof TooManyExportsError) headers['retry-after'] = String(known.retryAfterSeconds);
  if (known instanceof RawLogUnavailableError) headers['retry-after'] = String(RAW_LOG_RETRY_AFTER_SECONDS);
  return { status, body: { error: body }, headers };
}
