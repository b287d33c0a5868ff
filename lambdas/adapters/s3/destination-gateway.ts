/**
 * The customer's bucket over the S3 API: AWS S3, Google Cloud Storage (HMAC keys) or any S3-compatible
 * endpoint (Cloudflare R2, MinIO, s3rver), each reached with a client built for that one destination
 * and its credentials. Every failure is classified by classifyS3Error into the DestinationErrors of
 * core/destination, whose messages tell the customer what to fix; the SDK's own wording never reaches
 * them (it stays the error's `cause`, for the logs).
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { Readable } from 'node:stream';
import {
  AccessDeniedError,
  BucketNotFoundError,
  DestinationRejectedError,
  DestinationError,
  EndpointRedirectError,
  EndpointTooSlowError,
  EndpointUnreachableError,
  ForbiddenEndpointError,
  GCS_ENDPOINT,
  InvalidCredentialsError,
  isRegionName,
  TransientDestinationError,
  WrongRegionError,
  type Destination,
  type DestinationCredentials,
} from '../../core/destination';
import { ACCESS_CHECK_OBJECT } from '../../core/destinations';
import type { DestinationGateway, ObjectSink, ServiceIdentityGateway } from '../../ports';
import { assertAllowedEndpoint, guardedLookup, type ResolveHost } from './endpoint-guard';
import { S3ObjectSink } from './object-sink';

export interface S3DestinationGatewayOptions {
  /** Local mode only: lets Custom endpoints be loopback addresses (s3rver on 127.0.0.1). */
  allowLoopback?: boolean;
  /** Local mode only: lets Custom endpoints be plain http URLs (s3rver). */
  allowHttp?: boolean;
  /** The longest a validation may take, all attempts included; VALIDATION_BUDGET_MS by default. */
  validationBudgetMs?: number;
  /** How Custom endpoint host names are resolved for the endpoint guard; node:dns by default. */
  resolve?: ResolveHost;
  /**
   * The service's own identity, for bucket-policy destinations: the export role's credentials (on AWS,
   * assumed by the function), or s3rver's key locally. Without it, bucket-policy destinations are refused.
   */
  serviceIdentity?: {
    credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
    /**
     * Local mode only: bucket-policy writes may go to a Custom endpoint (the simulated customer
     * storage). On AWS they go to AWS S3 only: the service's credentials are never sent to an endpoint
     * a customer chose.
     */
    allowCustomEndpoints?: boolean;
  };
}

const CONNECTION_TIMEOUT_MS = 5_000;
/**
 * How long validating a destination may take in all (name lookup, connections, retries, reading the
 * answer): a settings save must answer within API Gateway's 29 s, and also reads and writes its settings.
 * An endpoint that hangs or trickles its answer is cut here, whatever each request's own timeouts.
 */
export const VALIDATION_BUDGET_MS = 20_000;
/** Uploads get no overall limit (a part may take long on a slow link), only one on an idle socket. */
const UPLOAD_IDLE_TIMEOUT_MS = 30_000;
const MAX_ATTEMPTS = 3;

type Credentials = DestinationCredentials | AwsCredentialIdentity | AwsCredentialIdentityProvider;

interface HandlerTimeouts {
  socketTimeout?: number;
}

export class S3DestinationGateway implements DestinationGateway, ServiceIdentityGateway {
  constructor(private readonly options: S3DestinationGatewayOptions = {}) {}

  async validate(destination: Destination, credentials: DestinationCredentials): Promise<void> {
    await this.withinValidationBudget(destination, credentials, async (client, budget) => {
      const listing = await client.send(
        new ListObjectsV2Command({
          Bucket: destination.bucket,
          Prefix: destination.keyPrefix ? `${destination.keyPrefix}/` : undefined,
          MaxKeys: 1,
        }),
        { abortSignal: budget },
      );
      // Any web server answers 200; only S3 names the bucket it listed.
      if (listing.Name !== destination.bucket) {
        throw new DestinationRejectedError('its answer to a bucket listing is not an S3 listing');
      }
    });
  }

  async probeWrite(destination: Destination): Promise<void> {
    await this.withinValidationBudget(destination, this.serviceCredentials(destination), async (client, budget) => {
      const key = destination.keyPrefix ? `${destination.keyPrefix}/${ACCESS_CHECK_OBJECT}` : ACCESS_CHECK_OBJECT;
      await client.send(new PutObjectCommand({ Bucket: destination.bucket, Key: key, Body: '' }), {
        abortSignal: budget,
      });
    });
  }

  serviceSink(destination: Destination): ObjectSink {
    return this.sinkWith(destination, () => this.serviceCredentials(destination));
  }

  /** Runs a validation request with a client of its own, cut (and the client closed) when the budget is spent. */
  private async withinValidationBudget(
    destination: Destination,
    credentials: Credentials,
    request: (client: S3Client, budget: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const budgetMs = this.options.validationBudgetMs ?? VALIDATION_BUDGET_MS;
    const budget = AbortSignal.timeout(budgetMs);
    let client: S3Client | undefined;
    try {
      await withinBudget(budget, async () => {
        await this.assertAllowedDestination(destination);
        client = this.createClient(destination, credentials, {});
        await request(client, budget);
      });
    } catch (error) {
      if (budget.aborted || isTimeout(error)) {
        throw new EndpointTooSlowError(endpointOf(destination), Math.ceil(budgetMs / 1000), { cause: error });
      }
      throw classifyS3Error(error, destination) ?? error;
    } finally {
      // Also closes a connection still trickling an answer.
      client?.destroy();
    }
  }

  /** The service's own credentials, for AWS S3 (and locally for the simulated customer storage) only. */
  private serviceCredentials(destination: Destination): Credentials {
    const identity = this.options.serviceIdentity;
    if (!identity)
      throw new ForbiddenEndpointError(
        'Bucket-policy destinations are not available in this deployment: use an access key.',
      );
    if (destination.provider !== 'AWS' && !identity.allowCustomEndpoints) {
      throw new ForbiddenEndpointError(
        `A bucket policy can only grant access to an AWS S3 bucket; ${destination.provider} destinations take an access key (mode accessKey).`,
      );
    }
    return identity.credentials;
  }

  sink(destination: Destination, credentials: DestinationCredentials): ObjectSink {
    return this.sinkWith(destination, () => credentials);
  }

  private sinkWith(destination: Destination, credentials: () => Credentials): ObjectSink {
    let objectSink: S3ObjectSink | undefined;
    return {
      write: async (key: string, body: Readable, options: { contentType: string }) => {
        // The body's own failure (the export's source) is not the destination's doing: it passes unchanged.
        let bodyError: unknown;
        body.once('error', (error) => (bodyError = error));
        try {
          // Checked again at every write: the endpoint's addresses may have changed since it was saved.
          await this.assertAllowedDestination(destination);
          objectSink ??= new S3ObjectSink({
            client: this.createClient(destination, credentials(), { socketTimeout: UPLOAD_IDLE_TIMEOUT_MS }),
            bucket: destination.bucket,
            keyPrefix: destination.keyPrefix,
          });
          await objectSink.write(key, body, options);
        } catch (error) {
          if (error === bodyError) throw error;
          throw classifyS3Error(error, destination) ?? error;
        }
      },
    };
  }

  private async assertAllowedDestination(destination: Destination): Promise<void> {
    if (destination.provider === 'Custom') await assertAllowedEndpoint(destination.endpoint ?? '', this.options);
  }

  private createClient(destination: Destination, credentials: Credentials, timeouts: HandlerTimeouts): S3Client {
    const { provider, bucket, region } = destination;
    // The SDK refuses a region that is not a host name label with a bare Error: say what it means.
    if (region && !isRegionName(region)) throw new WrongRegionError(bucket, region, undefined);
    const requestHandler = { connectionTimeout: CONNECTION_TIMEOUT_MS, ...timeouts };
    const common = {
      // The customer's key, or the export role for a bucket-policy destination (serviceCredentials): never
      // the function's own default credentials.
      credentials: typeof credentials === 'function' ? credentials : { ...credentials },
      maxAttempts: MAX_ATTEMPTS,
    };
    // GCS, R2 and s3rver reject the checksums newer SDKs add by default.
    const onlyRequiredChecksums = {
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    } as const;
    switch (provider) {
      case 'AWS':
        if (!region) throw new WrongRegionError(bucket, region, undefined);
        return new S3Client({ ...common, region, requestHandler });
      case 'GCP':
        // Always Google's endpoint, whatever the destination says: only Custom endpoints are customer-chosen.
        return new S3Client({
          ...common,
          ...onlyRequiredChecksums,
          region: region || 'auto',
          endpoint: GCS_ENDPOINT,
          requestHandler,
        });
      case 'Custom': {
        // Every connection's addresses are checked again as it is made (see endpoint-guard).
        const lookup = guardedLookup(this.options);
        return new S3Client({
          ...common,
          ...onlyRequiredChecksums,
          region: region || 'auto',
          endpoint: destination.endpoint,
          forcePathStyle: true,
          requestHandler: { ...requestHandler, httpAgent: { lookup }, httpsAgent: { lookup } },
        });
      }
    }
  }
}

/** The work's outcome, or the budget's abort as soon as it comes, whatever the work is waiting for. */
async function withinBudget(budget: AbortSignal, work: () => Promise<void>): Promise<void> {
  let onAbort: (() => void) | undefined;
  const exhausted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(budget.reason as Error);
    budget.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([work(), exhausted]);
  } finally {
    budget.removeEventListener('abort', onAbort!);
  }
}

/** A request the SDK gave up on: no connection within its time, or no answer (a black-holed endpoint). */
const isTimeout = (error: unknown): boolean =>
  (error as S3Failure | undefined)?.name === 'TimeoutError' &&
  (error as S3Failure).$metadata?.httpStatusCode === undefined;

/** What S3 (or the SDK, or Node's network stack) tells about a failure; any part may be missing. */
interface S3Failure {
  name?: string;
  message?: string;
  /** Node's error code for network failures (ECONNREFUSED, ...). */
  code?: string;
  syscall?: string;
  /** The bucket's region, in some S3 error bodies (AuthorizationHeaderMalformed). */
  Region?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const INVALID_CREDENTIALS_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'AuthorizationHeaderMalformed',
]);
const WRONG_REGION_CODES = new Set(['PermanentRedirect', 'IllegalLocationConstraintException']);
const ACCESS_DENIED_CODES = new Set(['AccessDenied', 'AllAccessDisabled', 'AccountProblem']);
const BUCKET_NOT_FOUND_CODES = new Set(['NoSuchBucket', 'InvalidBucketName']);
const TRANSIENT_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestTimeout',
  'TimeoutError',
  // S3 may answer CompleteMultipartUpload with 200 and one of these in the body.
  'InternalError',
  'ServiceUnavailable',
]);
/** The endpoint's name does not resolve, nothing listens, or it does not speak valid TLS. */
const UNREACHABLE_NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** A connection that broke or stalled once established: retrying may succeed. */
const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * The DestinationError a failure of an S3 request against the destination means, with the failure
 * as its cause; undefined when it is not recognizably the destination's (the caller rethrows it as
 * is). A DestinationError is returned unchanged.
 */
export function classifyS3Error(error: unknown, destination: Destination): DestinationError | undefined {
  if (error instanceof DestinationError) return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const failure = error as S3Failure;
  const options = { cause: error };
  const { bucket, keyPrefix, region } = destination;
  const status = failure.$metadata?.httpStatusCode ?? failure.$response?.statusCode;
  const name = failure.name ?? '';

  if (status === undefined) {
    const code = failure.code ?? '';
    // The SDK builds AWS endpoints from the region: a name that does not resolve is a misspelled region.
    if (code === 'ENOTFOUND' && destination.provider === 'AWS') {
      return new WrongRegionError(bucket, region, undefined, options);
    }
    if (UNREACHABLE_NETWORK_CODES.has(code) || (code === 'ECONNRESET' && failure.syscall === 'connect')) {
      return new EndpointUnreachableError(endpointOf(destination), options);
    }
    if (TRANSIENT_NETWORK_CODES.has(code) || TRANSIENT_CODES.has(name)) return new TransientDestinationError(options);
    return undefined;
  }
  // S3 signs with the region too: "the region 'us-east-1' is wrong; expecting 'eu-west-1'".
  if (name === 'AuthorizationHeaderMalformed' && (failure.Region || /region/i.test(failure.message ?? ''))) {
    return new WrongRegionError(bucket, region, bucketRegionOf(failure), options);
  }
  if (INVALID_CREDENTIALS_CODES.has(name) || status === 401) return new InvalidCredentialsError(options);
  // S3 answers a request to the wrong region with 301 (no body to a HEAD); a Custom endpoint's bare 3xx is a web server's.
  if (WRONG_REGION_CODES.has(name) || (status === 301 && destination.provider !== 'Custom')) {
    return new WrongRegionError(bucket, region, bucketRegionOf(failure), options);
  }
  if (status >= 300 && status < 400) return new EndpointRedirectError(endpointOf(destination), status, options);
  if (ACCESS_DENIED_CODES.has(name)) return new AccessDeniedError(bucket, keyPrefix, options);
  // 404 without an error code (the SDK names it NotFound) is the bucket's: keys are never read here.
  if (BUCKET_NOT_FOUND_CODES.has(name) || (status === 404 && name === 'NotFound')) {
    return new BucketNotFoundError(bucket, options);
  }
  if (TRANSIENT_CODES.has(name) || status === 429 || status >= 500) return new TransientDestinationError(options);
  // A success whose body the SDK could not read (HTML, garbage): not an S3 API.
  if (status < 300) return new DestinationRejectedError('its answer is not an S3 answer', options);
  // Any other refusal (no error code, or one of a provider's own) is still a refusal.
  if (status === 403) return new AccessDeniedError(bucket, keyPrefix, options);
  if (status >= 400 && status < 500)
    return new DestinationRejectedError(`HTTP ${status}${name ? ` ${name}` : ''}`, options);
  return undefined;
}

/**
 * The bucket's actual region as S3 reports it, when it looks like a region: it goes into the customer
 * message, and a Custom endpoint may answer anything.
 */
function bucketRegionOf(failure: S3Failure): string | undefined {
  const reported = failure.$response?.headers?.['x-amz-bucket-region'] ?? failure.Region;
  return reported && isRegionName(reported) ? reported : undefined;
}

/** The endpoint the destination's requests go to, as the customer message names it. */
function endpointOf(destination: Destination): string {
  switch (destination.provider) {
    case 'AWS':
      return `https://s3.${destination.region}.amazonaws.com`;
    case 'GCP':
      return GCS_ENDPOINT;
    case 'Custom':
      return destination.endpoint ?? '';
  }
}
