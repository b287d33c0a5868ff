/**
 * One measured raw revisions run, in its own process (its peak RSS is the run's own), started by
 * bench/raw-revisions-bench.ts with a RawRevisionsRunSpec as JSON in argv[2]; answers a
 * RawRevisionsRunResult over IPC. The raw log is already in s3rver (bench/raw-log-run.ts write).
 *
 *   revisions  RawRevisionsService.run: every object of the log as revisions/<N>.json in the
 *              destination bucket (the same s3rver), with the DynamoDB store on dynalite
 *   copy       the floor: each raw object read and written as it is (gzip bytes, no parsing) through
 *              the same destination sink
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { CreateTableCommand as CreateDynamoTableCommand } from '@aws-sdk/client-dynamodb';
import type { Readable } from 'node:stream';
import { DynamoDbDestinationStore } from '../lambdas/adapters/dynamodb/export-job-stores';
import { DynamoDbRawExportStore } from '../lambdas/adapters/dynamodb/raw-export-store';
import { DynamoDbTenantStore } from '../lambdas/adapters/dynamodb/tenant-store';
import { LocalSecretSealer } from '../lambdas/adapters/local/local-sealer';
import { S3DestinationGateway } from '../lambdas/adapters/s3/destination-gateway';
import { S3RawEventReader } from '../lambdas/adapters/s3/raw-event-reader';
import type { Destination } from '../lambdas/core/destination';
import { environmentPrefix } from '../lambdas/core/raw-log';
import { RawRevisionsService } from '../lambdas/core/raw-revisions';
import type { RawExportScheduler } from '../lambdas/ports';
import { benchClients } from './clients';
import { finishChild } from './processes';

export interface RawRevisionsRunSpec {
  mode: 'revisions' | 'copy';
  s3Endpoint: string;
  dynamodbEndpoint: string;
  rawBucket: string;
  environmentId: string;
  /** The run's instant: after every record's receive day. */
  scheduledTime: number;
}

export interface RawRevisionsRunResult {
  mode: RawRevisionsRunSpec['mode'];
  /** Revisions written (objects copied). */
  objects: number;
  /** Bytes of the raw log's objects the run read (gzip, as stored): the same for both runs. */
  bytesRead: number;
  /** Bytes the run wrote into the destination: the revisions' JSON lines, or the gzip objects as they are. */
  bytesWritten: number;
  seconds: number;
  maxRssKb: number;
}

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const TABLE = 'bench-config';

/** No schedule is managed in the benchmark: runs are started by hand. */
const noSchedules: RawExportScheduler = {
  upsertRawExport: async () => undefined,
  removeRawExport: async () => undefined,
};

async function revisions(spec: RawRevisionsRunSpec): Promise<RawRevisionsRunResult> {
  const clients = benchClients(spec);
  const destination: Destination = {
    provider: 'Custom',
    bucket: `revisions-${spec.environmentId}`,
    region: 'us-east-1',
    keyPrefix: 'km',
    endpoint: spec.s3Endpoint,
  };
  await clients.s3.send(new CreateBucketCommand({ Bucket: destination.bucket }));
  await clients.dynamodb.send(
    new CreateDynamoTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const table = { client: clients.documentClient, tableName: TABLE };
  const sealer = new LocalSecretSealer(LocalSecretSealer.generateKey());
  const destinations = new DynamoDbDestinationStore(table);
  await destinations.create({
    environmentId: spec.environmentId,
    id: 'dst_bench',
    name: 'Bench',
    destination,
    auth: {
      mode: 'accessKey',
      accessKeyId: CREDENTIALS.accessKeyId,
      sealedSecretAccessKey: await sealer.seal(CREDENTIALS.secretAccessKey, { environmentId: spec.environmentId }),
    },
    createdAt: 0,
    updatedAt: 0,
    version: 1,
  });
  const store = new DynamoDbRawExportStore(table);
  await store.putSettings(
    {
      environmentId: spec.environmentId,
      enabled: true,
      destinationId: 'dst_bench',
      notifyEmails: ['bench@example.com'],
      updatedAt: 0,
      version: 1,
    },
    0,
  );
  const service = new RawRevisionsService({
    tenants: new DynamoDbTenantStore(table),
    destinations,
    store,
    objects: new S3RawEventReader({ client: clients.s3, bucket: spec.rawBucket }),
    sealer,
    gateway: new S3DestinationGateway({ allowLoopback: true, allowHttp: true }),
    scheduler: noSchedules,
    clock: { now: () => spec.scheduledTime },
  });
  const started = performance.now();
  const result = await service.run({
    environmentId: spec.environmentId,
    scheduledTime: spec.scheduledTime,
    budgetMs: 3_600_000,
  });
  const seconds = (performance.now() - started) / 1000;
  if (result.outcome !== 'successful' || !result.complete)
    throw new Error(`The run did not export everything: ${JSON.stringify(result)}`);
  let bytesWritten = 0;
  for await (const revision of store.listRevisions(spec.environmentId)) bytesWritten += revision.bytes;
  const bytesRead = await logBytes(clients.s3, spec);
  clients.destroy();
  return {
    mode: 'revisions',
    objects: result.written.length,
    bytesRead,
    bytesWritten,
    seconds,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

async function copy(spec: RawRevisionsRunSpec): Promise<RawRevisionsRunResult> {
  const clients = benchClients(spec);
  const destination: Destination = {
    provider: 'Custom',
    bucket: `copy-${spec.environmentId}`,
    region: 'us-east-1',
    keyPrefix: 'copy',
    endpoint: spec.s3Endpoint,
  };
  await clients.s3.send(new CreateBucketCommand({ Bucket: destination.bucket }));
  const sink = new S3DestinationGateway({ allowLoopback: true, allowHttp: true }).sink(destination, CREDENTIALS);
  const reader = new S3RawEventReader({ client: clients.s3, bucket: spec.rawBucket });
  let objects = 0;
  const started = performance.now();
  for await (const object of reader.listObjects(spec.environmentId)) {
    const { Body } = await clients.s3.send(new GetObjectCommand({ Bucket: spec.rawBucket, Key: object.key }));
    await sink.write(`${++objects}.jsonl.gz`, Body as Readable, { contentType: 'application/gzip' });
  }
  const seconds = (performance.now() - started) / 1000;
  const bytes = await logBytes(clients.s3, spec);
  clients.destroy();
  return {
    mode: 'copy',
    objects,
    bytesRead: bytes,
    bytesWritten: bytes,
    seconds,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

/** The size of the environment's raw log objects (gzip), listed after the timed part. */
async function logBytes(s3: S3Client, spec: RawRevisionsRunSpec): Promise<number> {
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: spec.rawBucket,
        Prefix: environmentPrefix(spec.environmentId),
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) bytes += object.Size ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return bytes;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as RawRevisionsRunSpec;
  finishChild(await { revisions, copy }[spec.mode](spec));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
