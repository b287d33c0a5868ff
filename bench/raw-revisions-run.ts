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
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { CreateTableCommand as CreateDynamoTableCommand } from '@aws-sdk/client-dynamodb';
import type { Readable } from 'node:stream';
import { DynamoDbDestinationStore } from '../lambdas/adapters/dynamodb/export-job-stores';
import { DynamoDbRawExportStore } from '../lambdas/adapters/dynamodb/raw-export-store';
import { DynamoDbTenantStore } from '../lambdas/adapters/dynamodb/tenant-store';
import { LocalSecretSealer } from '../lambdas/adapters/local/local-sealer';
import { S3DestinationGateway } from '../lambdas/adapters/s3/destination-gateway';
import { S3RawEventReader } from '../lambdas/adapters/s3/raw-event-reader';
import type { Destination } from '../lambdas/core/destination';
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
  seconds: number;
  maxRssKb: number;
}

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const TABLE = 'bench-config';

/** No schedule is managed in the benchmark: runs are started by hand. */
const noSchedules: RawExportScheduler = { upsertRawExport: async () => undefined, removeRawExport: async () => undefined };

async function revisions(spec: RawRevisionsRunSpec): Promise<RawRevisionsRunResult> {
  const clients = benchClients(spec);
  const destination: Destination = { provider: 'Custom', bucket: `revisions-${spec.environmentId}`, region: 'us-east-1', keyPrefix: 'km', endpoint: spec.s3Endpoint };
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
    auth: { mode: 'accessKey', accessKeyId: CREDENTIALS.accessKeyId, sealedSecretAccessKey: await sealer.seal(CREDENTIALS.secretAccessKey, { environmentId: spec.environmentId }) },
    createdAt: 0,
    updatedAt: 0,
    version: 1,
  });
  const store = new DynamoDbRawExportStore(table);
  await store.putSettings({ environmentId: spec.environmentId, enabled: true, destinationId: 'dst_bench', notifyEmails: ['bench@example.com'], updatedAt: 0, version: 1 }, 0);
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
  const result = await service.run({ environmentId: spec.environmentId, scheduledTime: spec.scheduledTime, budgetMs: 3_600_000 });
  const seconds = (performance.now() - started) / 1000;
  clients.destroy();
  if (result.outcome !== 'successful' || !result.complete) throw new Error(`The run did not export everything: ${JSON.stringify(result)}`);
  return { mode: 'revisions', objects: result.written.length, seconds, maxRssKb: process.resourceUsage().maxRSS };
}

async function copy(spec: RawRevisionsRunSpec): Promise<RawRevisionsRunResult> {
  const clients = benchClients(spec);
  const destination: Destination = { provider: 'Custom', bucket: `copy-${spec.environmentId}`, region: 'us-east-1', keyPrefix: 'copy', endpoint: spec.s3Endpoint };
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
  clients.destroy();
  return { mode: 'copy', objects, seconds, maxRssKb: process.resourceUsage().maxRSS };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as RawRevisionsRunSpec;
  finishChild(await { revisions, copy }[spec.mode](spec));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
