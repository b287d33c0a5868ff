/**
 * The destination errors' classification (lambdas/core/destination.ts): what the customer must fix is
 * never transient (no retry, a failure class the warning emails name), a provider outage is; each has
 * its class name and the code the API answers with, and keeps its cause.
 */
import {
  AccessDeniedError,
  BucketNotFoundError,
  DestinationRejectedError,
  EndpointRedirectError,
  EndpointTooSlowError,
  EndpointUnreachableError,
  ForbiddenEndpointError,
  InvalidCredentialsError,
  TransientDestinationError,
  WrongRegionError,
  type DestinationError,
} from '../../lambdas/core/destination';

const cause = new Error('provider answer');

const errors: [DestinationError, string, string, boolean][] = [
  [new InvalidCredentialsError({ cause }), 'InvalidCredentialsError', 'invalid_credentials', false],
  [new AccessDeniedError('bucket', 'exports', { cause }), 'AccessDeniedError', 'access_denied', false],
  [new BucketNotFoundError('bucket', { cause }), 'BucketNotFoundError', 'bucket_not_found', false],
  [new WrongRegionError('bucket', 'eu-west-1', 'us-east-1', { cause }), 'WrongRegionError', 'wrong_region', false],
  [
    new EndpointUnreachableError('https://storage.example', { cause }),
    'EndpointUnreachableError',
    'endpoint_unreachable',
    false,
  ],
  [
    new EndpointTooSlowError('https://storage.example', 1, { cause }),
    'EndpointTooSlowError',
    'endpoint_unreachable',
    false,
  ],
  [
    new EndpointRedirectError('https://storage.example', 301, { cause }),
    'EndpointRedirectError',
    'destination_rejected',
    false,
  ],
  [new DestinationRejectedError('no such thing', { cause }), 'DestinationRejectedError', 'destination_rejected', false],
  [new ForbiddenEndpointError('https://10.0.0.1', { cause }), 'ForbiddenEndpointError', 'endpoint_not_allowed', false],
  [new TransientDestinationError({ cause }), 'TransientDestinationError', 'temporarily_unavailable', true],
];

describe('destination errors', () => {
  it.each(errors)('%s: name, code, transient, cause', (error, name, code, transient) => {
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.transient).toBe(transient);
    expect(error.cause).toBe(cause);
    expect(error.message).not.toBe('');
  });

  it('says how long the endpoint was given, in seconds', () => {
    expect(new EndpointTooSlowError('https://storage.example', 1).message).toContain('within 1 second');
    expect(new EndpointTooSlowError('https://storage.example', 5).message).toContain('within 5 seconds');
  });
});
