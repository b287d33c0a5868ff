/** Errors shared by the secret sealers (KMS on AWS, a local key locally). */

/**
 * A sealed secret that cannot be opened: not produced by this sealer, tampered with, or sealed for
 * another environment. Never carries the secret itself.
 */
export class SecretUnsealError extends Error {
  override readonly name = 'SecretUnsealError';
}
