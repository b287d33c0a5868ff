/** Errors shared by the secret sealers (KMS on AWS, a local key locally): internal failures, not the customer's. */
import { InternalFailureError } from '../core/errors';

/**
 * A sealed secret that cannot be opened: not produced by this sealer, tampered with, or sealed for
 * another environment. Never carries the secret itself.
 */
export class SecretUnsealError extends InternalFailureError {
  override readonly name = 'SecretUnsealError';
}

/** The sealing key may not be used: access denied, disabled, pending deletion or gone. Retrying will not help. */
export class SealingKeyUnavailableError extends InternalFailureError {
  override readonly name = 'SealingKeyUnavailableError';
}
