/**
 * The destination errors' classification (lambdas/core/destination.ts): what the customer must fix is
 * never transient (no retry, a failure class the warning emails name), a provider outage is; each has
 * its class name and the code the API answers with, keeps its cause, and says what is wrong and how to
 * fix it. Errors are built inside each test, so a mutation of a class is seen by it.
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
  maskAccessKeyId,
  TransientDestinationError,
  WrongRegionError,
  type DestinationError,
} from '../../lambdas/core/destination';

const cause = new Error('provider answer');

const errors: [string, () => DestinationError, string, boolean][] = [
  ['InvalidCredentialsError', () => new InvalidCredentialsError({ cause }), 'invalid_credentials', false],
  ['AccessDeniedError', () => new AccessDeniedError('bucket', 'exports', { cause }), 'access_denied', false],
  ['BucketNotFoundError', () => new BucketNotFoundError('bucket', { cause }), 'bucket_not_found', false],
  [
    'WrongRegionError',
    () => new WrongRegionError('bucket', 'eu-west-1', 'us-east-1', { cause }),
    'wrong_region',
    false,
  ],
  [
    'EndpointUnreachableError',
    () => new EndpointUnreachableError('https://storage.example', { cause }),
    'endpoint_unreachable',
    false,
  ],
  [
    'EndpointTooSlowError',
    () => new EndpointTooSlowError('https://storage.example', 1, { cause }),
    'endpoint_unreachable',
    false,
  ],
  [
    'EndpointRedirectError',
    () => new EndpointRedirectError('https://storage.example', 301, { cause }),
    'destination_rejected',
    false,
  ],
  [
    'DestinationRejectedError',
    () => new DestinationRejectedError('no such thing', { cause }),
    'destination_rejected',
    false,
  ],
  [
    'ForbiddenEndpointError',
    () => new ForbiddenEndpointError('https://10.0.0.1', { cause }),
    'endpoint_not_allowed',
    false,
  ],
  ['TransientDestinationError', () => new TransientDestinationError({ cause }), 'temporarily_unavailable', true],
];

describe('destination errors', () => {
  it.each(errors)('%s: name, code, transient, cause', (name, build, code, transient) => {
    const error = build();
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.transient).toBe(transient);
    expect(error.cause).toBe(cause);
    expect(error.message).not.toBe('');
  });

  it('says what is wrong and what to do, naming the bucket, folder, region and endpoint given', () => {
    expect(new InvalidCredentialsError().message).toBe(
      'The access key is not valid: the storage provider does not recognize the access key id or the secret does not match it. Check both keys, or create a new key pair.',
    );
    expect(new AccessDeniedError('acme', 'exports/daily').message).toBe(
      'Access denied: the key is valid but may not list and write objects in bucket "acme" under "exports/daily/", or the key has been disabled. Grant it s3:ListBucket, s3:PutObject and s3:AbortMultipartUpload (or the provider\'s equivalent) and make sure it is active.',
    );
    expect(new AccessDeniedError('acme', '').message).toMatch(/^Access denied: .* in bucket "acme", or the key/);
    expect(new BucketNotFoundError('acme').message).toBe(
      'The bucket "acme" does not exist. Check its name (and region), or create it.',
    );
    expect(new WrongRegionError('acme', 'eu-west-1', 'us-east-2').message).toBe(
      'The bucket "acme" is in region us-east-2, not eu-west-1. Change the region to us-east-2.',
    );
    expect(new WrongRegionError('acme', 'eu-wset-1', undefined).message).toBe(
      'The region "eu-wset-1" does not match the bucket "acme" or does not exist. Check the region\'s spelling, e.g. eu-west-1.',
    );
    expect(new EndpointUnreachableError('https://minio.acme.example').message).toBe(
      'The storage endpoint https://minio.acme.example could not be reached: its name does not resolve or it refuses connections. Check the endpoint URL (and the region).',
    );
    expect(new EndpointTooSlowError('https://minio.acme.example', 5).message).toBe(
      'The storage endpoint https://minio.acme.example did not answer a bucket listing within 5 seconds. Check that the endpoint URL is the S3 API of your storage and that it is up, then save again.',
    );
    expect(new EndpointRedirectError('https://minio.acme.example', 302).message).toBe(
      'The storage endpoint https://minio.acme.example answered with a redirect (HTTP 302) instead of an S3 answer. Redirects are not followed: enter the address of the S3 API itself.',
    );
    expect(new DestinationRejectedError('HTTP 400 InvalidRequest').message).toBe(
      'The storage provider rejected the export (HTTP 400 InvalidRequest). Check that the endpoint is an S3-compatible API and that the bucket accepts ordinary uploads (no mandatory Object Lock or encryption headers).',
    );
    expect(new TransientDestinationError().message).toBe(
      'The storage provider was temporarily unavailable. The export will be retried automatically.',
    );
  });

  it('says how long the endpoint was given, in seconds', () => {
    expect(new EndpointTooSlowError('https://storage.example', 1).message).toContain('within 1 second.');
    expect(new EndpointTooSlowError('https://storage.example', 5).message).toContain('within 5 seconds.');
  });
});

describe('maskAccessKeyId', () => {
  it('shows only the last four characters, behind at least four asterisks', () => {
    expect(maskAccessKeyId('AKIAIOSFODNN7EXAMPLE')).toBe('****************MPLE');
    expect(maskAccessKeyId('AKIA1234')).toBe('****1234');
    expect(maskAccessKeyId('abc')).toBe('****abc');
  });
});
