/**
 * The domain's errors. Each says, in words a customer can act on, what is wrong; the HTTP layer maps
 * them to status codes in one place (lambdas/http/errors.ts).
 */
import { DestinationError } from './destination';
import type { Plan } from './model';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `adoption.windowDays` or `[3].event`. */
  path: string;
  message: string;
}

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}

export class PlanRequiredError extends Error {
  override readonly name = 'PlanRequiredError';
  constructor(
    readonly feature: string,
    readonly requiredPlans: Plan[],
    readonly currentPlan: Plan,
  ) {
    super(
      `${feature} requires the ${requiredPlans.join(' or ')} plan; this organization is on the ${currentPlan} plan.`,
    );
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export class ConflictError extends Error {
  // Widened so subclasses name themselves.
  override readonly name: string = 'ConflictError';
}

/**
 * A persistent failure on our side that neither the customer nor a retry can fix: a secret that cannot
 * be unsealed, a sealing key we may not use, a configuration error. It goes to the operators' alarm,
 * never to the customer's inbox.
 */
export class InternalFailureError extends Error {
  // Widened so subclasses (in the adapters) name themselves.
  override readonly name: string = 'InternalFailureError';
}

/**
 * Who a failed run is for. `customer`: the destination refused (the customer fixes it; the three-email
 * sequence). `transient`: throttling, 5xx, timeouts, unknown errors (retried; an alarm when it lasts
 * more than 24 h). `internal`: an InternalFailureError (not retried, recorded with a customer-safe
 * message, an operator alarm).
 */
export type FailureClass = 'customer' | 'transient' | 'internal';

export interface ClassifiedFailure {
  failureClass: FailureClass;
  errorCode: string;
  /** The message the status page shows: the service's own words, never an SDK's or an endpoint's. */
  error: string;
}

export const TRANSIENT_FAILURE_MESSAGE = 'The export failed on our side. It will be retried automatically.';
export const INTERNAL_FAILURE_MESSAGE =
  'The export failed because of an internal error on our side. Our team has been alerted and is fixing it; nothing needs to change in your settings.';

export function classifyRunFailure(error: unknown): ClassifiedFailure {
  if (error instanceof DestinationError) {
    return { failureClass: error.transient ? 'transient' : 'customer', errorCode: error.code, error: error.message };
  }
  if (error instanceof InternalFailureError)
    return { failureClass: 'internal', errorCode: 'internal_error', error: INTERNAL_FAILURE_MESSAGE };
  return { failureClass: 'transient', errorCode: 'internal_error', error: TRANSIENT_FAILURE_MESSAGE };
}
