/**
 * classifyS3Error: the one mapping from what S3, the SDK and Node's network stack report to the
 * customer-facing DestinationErrors. The errors are built the way the SDK builds them: S3 error code
 * as `name`, status in `$metadata`, headers in `$response`, extra body members (Region) on the error.
 */
import { NoSuchBucket, S3ServiceException } from '@aws-sdk/client-s3';
import { classifyS3Error } from '../../lambdas/adapters/s3/destination-gateway';
import {
  AccessDeniedError,
  BucketNotFoundError,
  DestinationRejectedError,
  EndpointRedirectError,
  EndpointUnreachableError,
  ForbiddenEndpointError,
  GCS_ENDPOINT,
  InvalidCredentialsError,
  TransientDestinationError,
  WrongRegionError,
  type Destination,
} from '../../lambdas/core/destination';

const AWS: Destination = { provider: 'AWS', bucket: 'acme-exports', region: 'eu-wst-1', keyPrefix: 'bucket/daily' };
const GCP: Destination = {
  provider: 'GCP',
  bucket: 'acme-exports',
  region: 'auto',
  keyPrefix: '',
  endpoint: GCS_ENDPOINT,
};
const R2: Destination = {
  provider: 'Custom',
  bucket: 'acme-exports',
  region: 'auto',
  keyPrefix: '',
  endpoint: 'https://0123abcd.eu.r2.cloudflarestorage.com',
};

/** An S3 error response as the SDK deserializes it. */
function s3Error(
  name: string,
  status: number,
  extra: { message?: string; headers?: Record<string, string>; Region?: string } = {},
): S3ServiceException {
  const error = new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1 },
    message: extra.message ?? `SDK text for ${name}`,
  });
  error.$response = { statusCode: status, headers: extra.headers ?? {}, body: undefined };
  return extra.Region ? Object.assign(error, { Region: extra.Region }) : error;
}

/** A failure below HTTP, as Node's network stack and the SDK's HTTP handler report it. */
function networkError(
  code: string | undefined,
  extra: { name?: string; syscall?: string; message?: string } = {},
): Error {
  const error = new Error(extra.message ?? `network failure ${code}`);
  Object.assign(error, { code, syscall: extra.syscall, $metadata: { attempts: 3, totalRetryDelay: 300 } });
  if (extra.name) error.name = extra.name;
  return error;
}

const unresolvable = () => networkError('ENOTFOUND', { syscall: 'getaddrinfo' });

const wrongRegionMessage =
  "The authorization header is malformed; the region 'eu-wst-1' is wrong; expecting 'eu-west-1'";

type Case = [description: string, error: Error, destination: Destination, expected: new (...args: never[]) => Error];

describe('classifyS3Error', () => {
  const cases: Case[] = [
    ['InvalidAccessKeyId', s3Error('InvalidAccessKeyId', 403), R2, InvalidCredentialsError],
    ['SignatureDoesNotMatch', s3Error('SignatureDoesNotMatch', 403), R2, InvalidCredentialsError],
    ['InvalidToken', s3Error('InvalidToken', 400), AWS, InvalidCredentialsError],
    ['ExpiredToken', s3Error('ExpiredToken', 400), AWS, InvalidCredentialsError],
    [
      'AuthorizationHeaderMalformed about the key',
      s3Error('AuthorizationHeaderMalformed', 400, {
        message: 'The authorization header is malformed; a non-empty Access Key (AKID) must be provided.',
      }),
      AWS,
      InvalidCredentialsError,
    ],
    ['401 without a code', s3Error('Unknown', 401), R2, InvalidCredentialsError],
    ['AccessDenied', s3Error('AccessDenied', 403), AWS, AccessDeniedError],
    ['AllAccessDisabled', s3Error('AllAccessDisabled', 403), AWS, AccessDeniedError],
    ['AccountProblem', s3Error('AccountProblem', 403), AWS, AccessDeniedError],
    ['403 without a code', s3Error('Unknown', 403), GCP, AccessDeniedError],
    [
      'NoSuchBucket',
      new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } }),
      R2,
      BucketNotFoundError,
    ],
    ['404 without a code', s3Error('NotFound', 404), GCP, BucketNotFoundError],
    ['InvalidBucketName', s3Error('InvalidBucketName', 400), R2, BucketNotFoundError],
    ['PermanentRedirect', s3Error('PermanentRedirect', 301), AWS, WrongRegionError],
    ['301 without a code', s3Error('Unknown', 301), AWS, WrongRegionError],
    ['IllegalLocationConstraintException', s3Error('IllegalLocationConstraintException', 400), AWS, WrongRegionError],
    ['a Custom endpoint answering 301 without a code', s3Error('Unknown', 301), R2, EndpointRedirectError],
    ['a 302 redirect', s3Error('Unknown', 302), R2, EndpointRedirectError],
    ['a 307 redirect', s3Error('Unknown', 307), GCP, EndpointRedirectError],
    ['a 200 answer the SDK cannot read (HTML, garbage)', s3Error('Error', 200), R2, DestinationRejectedError],
    [
      'InternalError in a 200 answer (CompleteMultipartUpload)',
      s3Error('InternalError', 200),
      AWS,
      TransientDestinationError,
    ],
    [
      'AuthorizationHeaderMalformed about the region',
      s3Error('AuthorizationHeaderMalformed', 400, { message: wrongRegionMessage }),
      AWS,
      WrongRegionError,
    ],
    ['an unresolvable AWS endpoint (misspelled region)', unresolvable(), AWS, WrongRegionError],
    ['an unresolvable Custom endpoint', unresolvable(), R2, EndpointUnreachableError],
    ['an unresolvable GCS endpoint', unresolvable(), GCP, EndpointUnreachableError],
    ['a failing name server', networkError('EAI_AGAIN', { syscall: 'getaddrinfo' }), R2, EndpointUnreachableError],
    ['a refused connection', networkError('ECONNREFUSED', { syscall: 'connect' }), R2, EndpointUnreachableError],
    [
      'a connection reset while connecting',
      networkError('ECONNRESET', { syscall: 'connect', name: 'TimeoutError' }),
      R2,
      EndpointUnreachableError,
    ],
    ['an unreachable network', networkError('ENETUNREACH', { syscall: 'connect' }), R2, EndpointUnreachableError],
    ['a self-signed certificate', networkError('DEPTH_ZERO_SELF_SIGNED_CERT'), R2, EndpointUnreachableError],
    ['an expired certificate', networkError('CERT_HAS_EXPIRED'), R2, EndpointUnreachableError],
    ['a certificate for another name', networkError('ERR_TLS_CERT_ALTNAME_INVALID'), R2, EndpointUnreachableError],
    ['plain http on an https endpoint', networkError('EPROTO', { syscall: 'write' }), R2, EndpointUnreachableError],
    ['SlowDown', s3Error('SlowDown', 503), AWS, TransientDestinationError],
    ['Throttling', s3Error('Throttling', 400), R2, TransientDestinationError],
    ['ThrottlingException', s3Error('ThrottlingException', 400), R2, TransientDestinationError],
    ['429 Too Many Requests', s3Error('TooManyRequests', 429), R2, TransientDestinationError],
    ['429 without a code', s3Error('Unknown', 429), GCP, TransientDestinationError],
    ['InternalError', s3Error('InternalError', 500), AWS, TransientDestinationError],
    ['ServiceUnavailable', s3Error('ServiceUnavailable', 503), AWS, TransientDestinationError],
    ['502 without a code', s3Error('Unknown', 502), R2, TransientDestinationError],
    ['RequestTimeout', s3Error('RequestTimeout', 400), AWS, TransientDestinationError],
    ['a request timeout', networkError('ETIMEDOUT', { name: 'TimeoutError' }), R2, TransientDestinationError],
    ['a connection timeout', networkError(undefined, { name: 'TimeoutError' }), R2, TransientDestinationError],
    [
      'a reset mid-response',
      networkError('ECONNRESET', { name: 'TimeoutError', message: 'socket hang up' }),
      AWS,
      TransientDestinationError,
    ],
    ['a broken pipe', networkError('EPIPE', { syscall: 'write' }), AWS, TransientDestinationError],
  ];

  const named = cases.map(([description, error, destination, expected]) => {
    return [description, expected.name, error, destination, expected] as const;
  });

  it.each(named)('%s -> %s', (_description, _expectedName, error, destination, expected) => {
    const classified = classifyS3Error(error, destination);

    expect(classified).toBeInstanceOf(expected);
    expect(classified?.cause).toBe(error);
    expect(classified?.message).not.toContain(error.message);
  });

  it('says which bucket and prefix access is denied to', () => {
    expect(classifyS3Error(s3Error('AccessDenied', 403), AWS)?.message).toMatch(
      'may not list and write objects in bucket "acme-exports" under "bucket/daily/"',
    );
  });

  it('names the endpoint that could not be reached', () => {
    expect(classifyS3Error(networkError('ECONNREFUSED', { syscall: 'connect' }), R2)?.message).toMatch(
      'The storage endpoint https://0123abcd.eu.r2.cloudflarestorage.com could not be reached',
    );
    expect(classifyS3Error(networkError('ECONNREFUSED', { syscall: 'connect' }), GCP)?.message).toMatch(
      'The storage endpoint https://storage.googleapis.com could not be reached',
    );
  });

  describe('wrong region', () => {
    it('gives the bucket region S3 reports in the x-amz-bucket-region header', () => {
      const redirect = s3Error('PermanentRedirect', 301, { headers: { 'x-amz-bucket-region': 'eu-west-1' } });

      expect(classifyS3Error(redirect, AWS)?.message).toBe(
        'The bucket "acme-exports" is in region eu-west-1, not eu-wst-1. Change the region to eu-west-1.',
      );
    });

    it('gives the region of an AuthorizationHeaderMalformed body', () => {
      const malformed = s3Error('AuthorizationHeaderMalformed', 400, {
        message: wrongRegionMessage,
        Region: 'eu-west-1',
      });

      expect(classifyS3Error(malformed, AWS)?.message).toMatch('is in region eu-west-1, not eu-wst-1');
    });

    it('says the region is misspelled when the regional endpoint does not resolve', () => {
      expect(classifyS3Error(unresolvable(), AWS)?.message).toBe(
        'The region "eu-wst-1" does not match the bucket "acme-exports" or does not exist. ' +
          "Check the region's spelling, e.g. eu-west-1.",
      );
    });

    it('does not repeat a reported region that does not look like one', () => {
      const redirect = s3Error('PermanentRedirect', 301, {
        headers: { 'x-amz-bucket-region': 'eu-west-1. Call +1 555 0100' },
      });

      const classified = classifyS3Error(redirect, R2);

      expect(classified).toBeInstanceOf(WrongRegionError);
      expect(classified?.message).not.toMatch('555');
    });
  });

  it('returns a DestinationError unchanged', () => {
    const forbidden = new ForbiddenEndpointError('The endpoint must be a public https URL; ...');

    expect(classifyS3Error(forbidden, R2)).toBe(forbidden);
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('the usage store failed')],
    ['a network code of no meaning here', networkError('ERR_STREAM_PREMATURE_CLOSE')],
    ['a non-error', 'failed'],
    ['undefined', undefined],
  ])('leaves %s unclassified', (_case, error) => {
    expect(classifyS3Error(error, R2)).toBeUndefined();
  });

  it('reports any other client error as a rejection retrying will not fix', () => {
    const classified = classifyS3Error(s3Error('InvalidArgument', 400), R2);
    expect(classified).toBeInstanceOf(DestinationRejectedError);
    expect(classified).toMatchObject({ transient: false, code: 'destination_rejected' });
    expect(classified!.message).toMatch(/^The storage provider rejected the export \(HTTP 400 InvalidArgument\)/);
  });
});
