/**
 * The embedded AWS emulators of local mode and the integration tests: dynalite (DynamoDB), s3rver (S3)
 * and aws-ses-v2-local (SES), all in-process, plus the tables and SDK clients that go with them.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type GlobalSecondaryIndex,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import startSesServer from 'aws-ses-v2-local';
import { createDocumentClient, createDynamoDbClient } from '../adapters/dynamodb/document-client';
import { PROFILES_UPDATED_INDEX } from '../adapters/dynamodb/profile-store';

/** dynalite and s3rver ship no type declarations: the parts used here. */
interface DynaliteOptions {
  path?: string;
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}
type DynaliteFactory = (options: DynaliteOptions) => Server;

interface S3rverOptions {
  port: number;
  address: string;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}
interface S3rverInstance {
  configureBuckets(): Promise<void>;
  listen(port: number, address: string, onListening: () => void): Server;
}
type S3rverConstructor = new (options: S3rverOptions) => S3rverInstance;

const HOST = '127.0.0.1';
export const EMULATOR_REGION = 'us-east-1';
/** s3rver only accepts its own key pair; dynalite and the SES emulator accept any. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface EmulatorPorts {
  /** 0 (the default) picks a free port. */
  dynamodb?: number;
  s3?: number;
  ses?: number;
}

export interface StartEmulatorsOptions {
  /** Where DynamoDB tables and S3 objects persist (`<dataDir>/dynamodb`, `<dataDir>/s3`). Without it,
   * DynamoDB is in memory and S3 lives in a temporary folder removed by stop(). SES is always in memory. */
  dataDir?: string;
  ports?: EmulatorPorts;
  /** Buckets created at start when absent. */
  buckets?: string[];
}

export interface EmulatorEndpoints {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  sesEndpoint: string;
}

export interface RunningEmulators extends EmulatorEndpoints {
  /** Closes every server, its connections and its storage. */
  stop(): Promise<void>;
}

export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const ports = options.ports ?? {};
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    const pending = stops.splice(0).reverse();
    for (const stopOne of pending) await stopOne();
  };
  try {
    const dynamodb = await startDynalite(options.dataDir && join(options.dataDir, 'dynamodb'), ports.dynamodb ?? 0);
    stops.push(dynamodb.stop);
    const s3 = await startS3rver(options.dataDir && join(options.dataDir, 's3'), ports.s3 ?? 0, options.buckets ?? []);
    stops.push(s3.stop);
    const ses = await startSes(ports.ses ?? 0);
    stops.push(ses.stop);
    return { dynamodbEndpoint: dynamodb.endpoint, s3Endpoint: s3.endpoint, sesEndpoint: ses.endpoint, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface StartedServer {
  endpoint: string;
  stop: () => Promise<void>;
}

/** How long stopping dynalite waits for the requests in flight to be answered. */
const ANSWER_WAIT_MS = 5000;

async function startDynalite(directory: string | undefined, port: number): Promise<StartedServer> {
  if (directory) await mkdir(directory, { recursive: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS package, typed by DynaliteFactory
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ path: directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const answered = trackAnswers(server);
  await listening(server, () => server.listen(port, HOST));
  return { endpoint: endpointOf(server), stop: () => closeServer(server, answered) };
}

/**
 * Resolves once every request received so far is answered (or after `ANSWER_WAIT_MS`). dynalite closes
 * its database as soon as its server has no connection left, and a request still queued inside it then
 * throws "Database is closed" out of a callback, which ends the process: stopping with writes in flight
 * (a test failing in the middle of parallel writes, whose client drops its connections) killed the Jest
 * worker. Counted at `end`, not at the socket's close: a client gone away does not stop dynalite's work.
 */
function trackAnswers(server: Server): () => Promise<void> {
  const unanswered = new Set<Promise<void>>();
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    let answer!: () => void;
    const answeredOne = new Promise<void>((resolve) => (answer = resolve));
    unanswered.add(answeredOne);
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      unanswered.delete(answeredOne);
      answer();
      return end(...args);
    }) as ServerResponse['end'];
  });
  return async () => {
    const deadline = Date.now() + ANSWER_WAIT_MS;
    // Requests may still come in on open connections while the first ones are answered.
    while (unanswered.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([Promise.all(unanswered), waited]);
      clearTimeout(timer);
    }
  };
}

async function startS3rver(directory: string | undefined, port: number, buckets: string[]): Promise<StartedServer> {
  const temporary = directory === undefined;
  const root = directory ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  await mkdir(root, { recursive: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS package, typed by S3rverConstructor
  const S3rver = require('s3rver') as S3rverConstructor;
  const s3rver = new S3rver({
    port,
    address: HOST,
    directory: root,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const removeTemporary = async (): Promise<void> => {
    if (temporary) await rm(root, { recursive: true, force: true });
  };
  let server: Server;
  try {
    await s3rver.configureBuckets();
    // listen() rather than run(): run() leaves a listen error (port in use) unhandled.
    server = s3rver.listen(port, HOST, () => undefined);
    await listening(server);
  } catch (error) {
    await removeTemporary();
    throw error;
  }
  return {
    endpoint: endpointOf(server),
    stop: async () => {
      await closeServer(server);
      await removeTemporary();
    },
  };
}

async function startSes(port: number): Promise<StartedServer> {
  // The SES emulator listens before handing back its server, so a busy port would surface as an
  // unhandled 'error' event: check it first.
  if (port !== 0) await assertPortFree(port);
  const server = await startSesServer({ host: HOST, port });
  return { endpoint: endpointOf(server), stop: () => closeServer(server) };
}

/** Resolves once the server listens, rejects on its listen error; `listen` starts it when given. */
function listening(server: Server, listen?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve();
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError).once('listening', onListening);
    listen?.();
  });
}

function endpointOf(server: Server): string {
  const address = server.address() as AddressInfo | null;
  if (!address) throw new Error('Emulator server is not listening.');
  return `http://${HOST}:${address.port}`;
}

/**
 * Closes the server, once `settled` (dynalite: the requests in flight answered), and drops its
 * keep-alive connections, which would otherwise keep the process alive.
 */
async function closeServer(server: Server, settled: () => Promise<void> = () => Promise.resolve()): Promise<void> {
  if (!server.listening) return;
  // Before closing: dynalite closes its database as soon as the server has no connection left.
  await settled();
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (error) => reject(new Error(`Port ${port} on ${HOST} is not available: ${error.message}`)));
    probe.listen(port, HOST, () => probe.close(() => resolve()));
  });
}

export interface TableNames {
  configTable: string;
  usageTable: string;
  /** User profiles; created only when named. */
  profilesTable?: string;
}

/** Local data written by an older version whose tables lack what this one needs. */
export class LocalDataOutdatedError extends Error {
  override readonly name = 'LocalDataOutdatedError';
}

/** Creates the config, usage and (when named) profiles tables (string keys `pk`, `sk`; on-demand) when they do not exist. */
export async function ensureTables(client: DynamoDBClient, tables: TableNames): Promise<void> {
  await Promise.all([
    ensureTable(client, tables.configTable, [
      FAILING_INDEX_DEFINITION,
      UNRECONCILED_INDEX_DEFINITION,
      TRANSIENT_INDEX_DEFINITION,
    ]),
    ensureTable(client, tables.usageTable, []),
    ...(tables.profilesTable ? [ensureTable(client, tables.profilesTable, [PROFILES_UPDATED_INDEX_DEFINITION])] : []),
  ]);
}

/** The config table's sparse index of failing exports, as the CDK stack defines it. */
const FAILING_INDEX_DEFINITION: GlobalSecondaryIndex = {
  IndexName: 'failing',
  KeySchema: [
    { AttributeName: 'failingPk', KeyType: 'HASH' },
    { AttributeName: 'failingSince', KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'ALL' },
};

/** The config table's sparse index of settings whose schedule is not reconciled yet, as the CDK stack defines it. */
const UNRECONCILED_INDEX_DEFINITION: GlobalSecondaryIndex = {
  IndexName: 'unreconciled',
  KeySchema: [{ AttributeName: 'unreconciledPk', KeyType: 'HASH' }],
  Projection: { ProjectionType: 'KEYS_ONLY' },
};

/** The config table's sparse index of exports failing transiently, as the CDK stack defines it. */
const TRANSIENT_INDEX_DEFINITION: GlobalSecondaryIndex = {
  IndexName: 'transient',
  KeySchema: [
    { AttributeName: 'transientPk', KeyType: 'HASH' },
    { AttributeName: 'transientSince', KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'KEYS_ONLY' },
};

/** The profiles table's index by shard and time of change, as the CDK stack defines it. */
const PROFILES_UPDATED_INDEX_DEFINITION: GlobalSecondaryIndex = {
  IndexName: PROFILES_UPDATED_INDEX,
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'updatedAt', KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'ALL' },
};

/** The types of the indexes' key attributes (other than the table's own `pk`, `sk`). */
const INDEX_ATTRIBUTE_TYPES: Record<string, 'S' | 'N'> = {
  failingPk: 'S',
  failingSince: 'N',
  unreconciledPk: 'S',
  transientPk: 'S',
  transientSince: 'N',
  updatedAt: 'N',
};

async function ensureTable(client: DynamoDBClient, tableName: string, indexes: GlobalSecondaryIndex[]): Promise<void> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    // dynalite cannot add an index to an existing table: say how to start over rather than fail later.
    const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
    const missing = indexes.map((index) => index.IndexName!).filter((name) => !present.has(name));
    if (missing.length > 0) {
      throw new LocalDataOutdatedError(
        `The local table ${tableName} predates its index(es) ${missing.join(', ')}: remove the local data folder (rm -rf .local) and start again.`,
      );
    }
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          ...[...new Set(indexes.flatMap((index) => index.KeySchema!.map((key) => key.AttributeName!)))]
            .filter((name) => name !== 'pk' && name !== 'sk')
            .map((name) => ({ AttributeName: name, AttributeType: INDEX_ATTRIBUTE_TYPES[name] })),
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
      }),
    );
  } catch (error) {
    // Created meanwhile by a concurrent caller: wait for it like for our own.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, minDelay: 1, maxDelay: 2, maxWaitTime: 60 }, { TableName: tableName });
}

export interface EmulatorClients {
  dynamodb: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  s3: S3Client;
  ses: SESv2Client;
  /** Closes the clients' sockets. */
  destroy(): void;
}

/** SDK clients pointed at the emulators, configured the way each emulator needs. */
export function createEmulatorClients(endpoints: EmulatorEndpoints): EmulatorClients {
  const common = { region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS };
  const dynamodb = createDynamoDbClient({ ...common, endpoint: endpoints.dynamodbEndpoint });
  const documentClient = createDocumentClient(dynamodb);
  const s3 = new S3Client({
    ...common,
    endpoint: endpoints.s3Endpoint,
    // s3rver serves path-style URLs only and does not compute the newer default checksums.
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const ses = new SESv2Client({ ...common, endpoint: endpoints.sesEndpoint });
  return {
    dynamodb,
    documentClient,
    s3,
    ses,
    destroy: () => {
      dynamodb.destroy();
      s3.destroy();
      ses.destroy();
    },
  };
}
