/**
 * The domain's errors. Each says, in words a customer can act on, what is wrong; the HTTP layer maps
 * them to status codes in one place (lambdas/http/errors.ts).
 */
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
