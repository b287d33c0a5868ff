/**
 * S3DestinationGateway against s3rver, as a Custom destination (the only provider whose endpoint can
 * be pointed at an emulator). s3rver answers an unknown access key id with 403 InvalidAccessKeyId and
 * a missing bucket with 404 NoSuchBucket, as S3 does, but has no access control: "access denied" comes
 * from a thin proxy in front of it that answers S3's 403 AccessDenied to the access key id NOPRIVS, and
 * to writes with the access key id READONLY (which may list).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  SERVICE_IDENTITY_CREDENTIALS,
  startCustomerStorage,
  type CustomerStorage,
} from '../../lambdas/local/customer-storage';
import { S3DestinationGateway } from '../../lambdas/adapters/s3/destination-gateway';
import {
  AccessDeniedError,
  BucketNotFoundError,
  EndpointTooSlowError,
  EndpointUnreachableError,
  ForbiddenEndpointError,
  InvalidCredentialsError,
  type Destination,
} from '../../lambdas/core/destination';
import {
  EMULATOR_CREDENTIALS,
  createEmulatorClients,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';

const BUCKET = 'customer-exports';
const UNKNOWN_KEY = { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'whatever' };
const KEY_WITHOUT_PRIVILEGES = { accessKeyId: 'NOPRIVS', secretAccessKey: 'whatever' };
const READ_ONLY_KEY = { accessKeyId: 'READONLY', secretAccessKey: 'whatever' };

/** What local mode allows: s3rver is plain http on 127.0.0.1. */
const localGateway = new S3DestinationGateway({ allowLoopback: true, allowHttp: true });

let emulators: RunningEmulators;
let clients: EmulatorClients;
let accessDenyingProxy: CustomerStorage;

const customDestination = (endpoint: string, overrides: Partial<Destination> = {}): Destination => ({
  provider: 'Custom',
  bucket: BUCKET,
  region: 'auto',
  keyPrefix: '',
  endpoint,
  ...overrides,
});

async function listen(server: Server): Promise<Server> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const endpointOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function close(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

/** An endpoint nothing listens on: a port that was just free. */
async function closedPortEndpoint(): Promise<string> {
  const server = await listen(createServer());
  const endpoint = endpointOf(server);
  await close(server);
  return endpoint;
}

async function readObject(key: string): Promise<string> {
  const object = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return object.Body!.transformToString();
}

async function expectNoObject(key: string): Promise<void> {
  await expect(clients.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({
    name: 'NotFound',
  });
  const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  expect(listed.Contents ?? []).toEqual([]);
}

/** The error the promise rejects with (failing the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

beforeAll(async () => {
  emulators = await startEmulators({ buckets: [BUCKET] });
  clients = createEmulatorClients(emulators);
  accessDenyingProxy = await startCustomerStorage(emulators.s3Endpoint);
});

afterAll(async () => {
  await accessDenyingProxy?.close();
  clients?.destroy();
  await emulators?.stop();
  delete (Error as { [Symbol.hasInstance]?: unknown })[Symbol.hasInstance];
});

describe('S3DestinationGateway.validate', () => {
  it('accepts a bucket the key may list, at its root and under a key prefix', async () => {
    for (const keyPrefix of ['', 'exports/daily']) {
      const destination = customDestination(emulators.s3Endpoint, { keyPrefix });
      await expect(localGateway.validate(destination, EMULATOR_CREDENTIALS)).resolves.toBeUndefined();
    }
  });

  it('accepts a host name resolving to loopback when loopback is allowed (through the guarded lookup)', async () => {
    const byName = emulators.s3Endpoint.replace('127.0.0.1', 'localhost');

    await expect(localGateway.validate(customDestination(byName), EMULATOR_CREDENTIALS)).resolves.toBeUndefined();
  });

  it('answers InvalidCredentialsError for an access key id the provider does not know', async () => {
    const error = await rejectionOf(localGateway.validate(customDestination(emulators.s3Endpoint), UNKNOWN_KEY));

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(error.cause).toMatchObject({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } });
    expect(error.message).not.toMatch('does not exist in our records');
  });

  it('answers BucketNotFoundError for a bucket that does not exist', async () => {
    const destination = customDestination(emulators.s3Endpoint, { bucket: 'no-such-bucket' });

    const error = await rejectionOf(localGateway.validate(destination, EMULATOR_CREDENTIALS));

    expect(error).toBeInstanceOf(BucketNotFoundError);
    expect(error.message).toBe(
      'The bucket "no-such-bucket" does not exist. Check its name (and region), or create it.',
    );
    expect(error.cause).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  });

  it('answers AccessDeniedError for a valid key without the privilege to list', async () => {
    const destination = customDestination(accessDenyingProxy.endpoint, { keyPrefix: 'exports' });

    await expect(localGateway.validate(destination, EMULATOR_CREDENTIALS)).resolves.toBeUndefined();
    const error = await rejectionOf(localGateway.validate(destination, KEY_WITHOUT_PRIVILEGES));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.message).toMatch(`may not list and write objects in bucket "${BUCKET}" under "exports/"`);
    expect(error.cause).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });

  it('answers EndpointUnreachableError when nothing listens at the endpoint', async () => {
    const endpoint = await closedPortEndpoint();

    const error = await rejectionOf(localGateway.validate(customDestination(endpoint), EMULATOR_CREDENTIALS));

    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect(error.message).toMatch(`The storage endpoint ${endpoint} could not be reached`);
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('answers EndpointTooSlowError when the endpoint accepts the connection but never answers, within the budget', async () => {
    const silent = await listen(createServer(() => undefined));
    const impatient = new S3DestinationGateway({ allowLoopback: true, allowHttp: true, validationBudgetMs: 300 });
    try {
      const error = await rejectionOf(impatient.validate(customDestination(endpointOf(silent)), EMULATOR_CREDENTIALS));

      expect(error).toBeInstanceOf(EndpointTooSlowError);
      expect(error.message).toMatch(
        `The storage endpoint ${endpointOf(silent)} did not answer a bucket listing within 1 second.`,
      );
    } finally {
      await close(silent);
    }
  });

  it('refuses the emulator endpoint without local mode allowances, sending nothing', async () => {
    const gatewayAsOnAws = new S3DestinationGateway();

    const destination = customDestination(emulators.s3Endpoint);

    const error = await rejectionOf(gatewayAsOnAws.validate(destination, EMULATOR_CREDENTIALS));

    expect(error).toBeInstanceOf(ForbiddenEndpointError);
    expect(error.message).toBe('The endpoint must be a public https URL; http is not allowed.');
  });

  it('refuses a host name that turns private between the check and the connection (DNS rebinding)', async () => {
    const port = new URL(emulators.s3Endpoint).port;
    let lookups = 0;
    const rebinding = new S3DestinationGateway({
      allowHttp: true,
      resolve: async () => (++lookups === 1 ? ['203.0.113.10'] : ['127.0.0.1']),
    });

    const destination = customDestination(`http://storage.example.test:${port}`);

    const error = await rejectionOf(rebinding.validate(destination, EMULATOR_CREDENTIALS));

    expect(error).toBeInstanceOf(ForbiddenEndpointError);
    expect(error.message).toBe(
      'The endpoint must be a public https URL; storage.example.test resolves to a loopback address (127.0.0.1).',
    );
    expect(lookups).toBe(2);
  });
});

describe('S3DestinationGateway.sink', () => {
  const csv = () => Readable.from([Buffer.from('Company ID,Company Name\n'), Buffer.from('acme,Acme Inc.\n')]);

  it('writes the object under the destination key prefix', async () => {
    const destination = customDestination(emulators.s3Endpoint, { keyPrefix: 'tenant-a/daily' });
    const sink = localGateway.sink(destination, EMULATOR_CREDENTIALS);

    await sink.write('2024-10-04.csv', csv(), { contentType: 'text/csv; charset=utf-8' });
    await sink.write('2024-10-05.csv', csv(), { contentType: 'text/csv; charset=utf-8' });

    expect(await readObject('tenant-a/daily/2024-10-04.csv')).toBe('Company ID,Company Name\nacme,Acme Inc.\n');
    expect(await readObject('tenant-a/daily/2024-10-05.csv')).toBe('Company ID,Company Name\nacme,Acme Inc.\n');
  });

  it('fails a write with a bad key with InvalidCredentialsError and leaves nothing', async () => {
    const sink = localGateway.sink(customDestination(emulators.s3Endpoint, { keyPrefix: 'tenant-b' }), UNKNOWN_KEY);

    const error = await rejectionOf(sink.write('export.csv', csv(), { contentType: 'text/csv' }));

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(error.cause).toMatchObject({ name: 'InvalidAccessKeyId' });
    await expectNoObject('tenant-b/export.csv');
  });

  it('fails a write with a key without privileges with AccessDeniedError and leaves nothing', async () => {
    const destination = customDestination(accessDenyingProxy.endpoint, { keyPrefix: 'tenant-c' });
    const sink = localGateway.sink(destination, KEY_WITHOUT_PRIVILEGES);

    const error = await rejectionOf(sink.write('export.csv', csv(), { contentType: 'text/csv' }));

    expect(error).toBeInstanceOf(AccessDeniedError);
    await expectNoObject('tenant-c/export.csv');
  });

  it('fails a write with a key that may list but not write with AccessDeniedError, though it validates', async () => {
    const destination = customDestination(accessDenyingProxy.endpoint, { keyPrefix: 'tenant-e' });
    await expect(localGateway.validate(destination, READ_ONLY_KEY)).resolves.toBeUndefined();

    const sink = localGateway.sink(destination, READ_ONLY_KEY);

    const error = await rejectionOf(sink.write('export.csv', csv(), { contentType: 'text/csv' }));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.message).toMatch('Grant it s3:ListBucket, s3:PutObject and s3:AbortMultipartUpload');
    await expectNoObject('tenant-e/export.csv');
  });

  it('checks the endpoint again at every write: an address not allowed is refused before anything is sent', async () => {
    // An IP literal is checked only there: the guarded lookup never sees it.
    const gatewayWithoutLoopback = new S3DestinationGateway({ allowHttp: true });
    const sink = gatewayWithoutLoopback.sink(
      customDestination(emulators.s3Endpoint, { keyPrefix: 'tenant-f' }),
      EMULATOR_CREDENTIALS,
    );

    const error = await rejectionOf(sink.write('export.csv', csv(), { contentType: 'text/csv' }));

    expect(error).toBeInstanceOf(ForbiddenEndpointError);
    expect(error.message).toBe('The endpoint must be a public https URL; 127.0.0.1 is a loopback address.');
    await expectNoObject('tenant-f/export.csv');
  });

  it('fails a write to a closed port with EndpointUnreachableError', async () => {
    const sink = localGateway.sink(customDestination(await closedPortEndpoint()), EMULATOR_CREDENTIALS);

    const error = await rejectionOf(sink.write('export.csv', csv(), { contentType: 'text/csv' }));

    expect(error).toBeInstanceOf(EndpointUnreachableError);
  });

  it("passes the body's own failure through unclassified, whatever its code", async () => {
    const destination = customDestination(emulators.s3Endpoint, { keyPrefix: 'tenant-d' });
    const sink = localGateway.sink(destination, EMULATOR_CREDENTIALS);
    const sourceFailure = Object.assign(new Error('the usage store could not be reached'), { code: 'ENOTFOUND' });
    const body = new Readable({ read: () => body.destroy(sourceFailure) });

    await expect(sink.write('export.csv', body, { contentType: 'text/csv' })).rejects.toBe(sourceFailure);
    await expectNoObject('tenant-d/export.csv');
  });
});

describe('bucket-policy destinations (the service identity, through the simulated customer storage)', () => {
  const policyGateway = new S3DestinationGateway({
    allowLoopback: true,
    allowHttp: true,
    serviceIdentity: { credentials: SERVICE_IDENTITY_CREDENTIALS, allowCustomEndpoints: true },
  });

  afterEach(() => {
    accessDenyingProxy.bucketPolicy = 'granted';
  });

  test('while the policy is granted, the probe writes a zero-byte <key>/.export-access-check and the sink writes as the service', async () => {
    const destination = customDestination(accessDenyingProxy.endpoint, { keyPrefix: 'by-policy' });
    await policyGateway.probeWrite(destination);
    expect(await readObject('by-policy/.export-access-check')).toBe('');
    await policyGateway
      .serviceSink(destination)
      .write('run/part-0.csv', Readable.from(['a,b\n']), { contentType: 'text/csv' });
    expect(await readObject('by-policy/run/part-0.csv')).toBe('a,b\n');
  });

  test('once the policy is revoked, the probe and the writes get 403 AccessDenied, as when a customer removes it', async () => {
    const destination = customDestination(accessDenyingProxy.endpoint, { keyPrefix: 'revoked-policy' });
    accessDenyingProxy.bucketPolicy = 'revoked';
    expect(await rejectionOf(policyGateway.probeWrite(destination))).toBeInstanceOf(AccessDeniedError);
    const write = policyGateway
      .serviceSink(destination)
      .write('x.csv', Readable.from(['x']), { contentType: 'text/csv' });
    expect(await rejectionOf(write)).toBeInstanceOf(AccessDeniedError);
    await expectNoObject('revoked-policy/.export-access-check');
  });

  test('the policy grants writes only: a listing as the service is refused', async () => {
    const destination = customDestination(accessDenyingProxy.endpoint);
    expect(await rejectionOf(policyGateway.validate(destination, SERVICE_IDENTITY_CREDENTIALS))).toBeInstanceOf(
      AccessDeniedError,
    );
  });

  test("the service's credentials never go to a Custom endpoint unless local mode allows it, nor anywhere without an identity", async () => {
    const destination = customDestination(accessDenyingProxy.endpoint, { keyPrefix: 'never' });
    const awsOnly = new S3DestinationGateway({
      allowLoopback: true,
      allowHttp: true,
      serviceIdentity: { credentials: SERVICE_IDENTITY_CREDENTIALS },
    });
    expect(await rejectionOf(awsOnly.probeWrite(destination))).toBeInstanceOf(ForbiddenEndpointError);
    expect(await rejectionOf(localGateway.probeWrite(destination))).toBeInstanceOf(ForbiddenEndpointError);
    await expectNoObject('never/.export-access-check');
  });
});
