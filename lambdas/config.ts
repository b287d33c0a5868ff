/**
 * Typed configuration readers. Each entry point reads its configuration once, at start, and fails
 * loudly when a value is missing instead of misbehaving later.
 */

import { InternalFailureError } from './core/errors';

/** A missing or malformed setting of the deployment: the operators' to fix, never the customer's. */
export class ConfigurationError extends InternalFailureError {
  override readonly name = 'ConfigurationError';
}

export type Environment = Record<string, string | undefined>;

export function requiredString(env: Environment, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`Missing configuration: environment variable ${name} must be set.`);
  }
  return value;
}

export function optionalString(env: Environment, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value;
}

export function optionalInteger(
  env: Environment,
  name: string,
  fallback: number,
  range: { min: number; max: number } = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed))
    throw new ConfigurationError(`Invalid configuration: ${name} must be an integer, got "${value}".`);
  if (parsed < range.min || parsed > range.max) {
    throw new ConfigurationError(
      `Invalid configuration: ${name} must be between ${range.min} and ${range.max}, got ${parsed}.`,
    );
  }
  return parsed;
}
