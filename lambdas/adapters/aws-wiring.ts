/** The AWS wiring: real AWS clients, configuration from the Lambda's environment, read once. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { optionalInteger, requiredString, type Environment } from '../config';
import type { TenantStore, UsageStore } from '../ports';
import { buildServices, systemClock, type Services } from '../services';
import { DynamoDbManualExportStore } from './dynamodb/manual-export-store';
import { DynamoDbTenantStore } from './dynamodb/tenant-store';
import { DynamoDbUsageStore } from './dynamodb/usage-store';
import { LambdaExportDispatcher } from './lambda/export-dispatcher';
import { S3DownloadLinks } from './s3/download-links';
import { S3ObjectSink } from './s3/object-sink';

export interface StoreConfig {
  configTable: string;
  usageTable: string;
}

export interface AwsConfig extends StoreConfig {
  exportsBucket: string;
  exportFunctionName: string;
  downloadLinkSeconds: number;
}

export function readStoreConfig(env: Environment = process.env): StoreConfig {
  return { configTable: requiredString(env, 'CONFIG_TABLE'), usageTable: requiredString(env, 'USAGE_TABLE') };
}

export function readAwsConfig(env: Environment = process.env): AwsConfig {
  return {
    ...readStoreConfig(env),
    exportsBucket: requiredString(env, 'EXPORTS_BUCKET'),
    exportFunctionName: requiredString(env, 'EXPORT_FUNCTION_NAME'),
    downloadLinkSeconds: optionalInteger(env, 'DOWNLOAD_LINK_SECONDS', 3600),
  };
}

const documentClient = () =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });

/** Just the stores, for entry points that need nothing else (ingest). */
export function awsStores(config: StoreConfig): { tenants: TenantStore; usage: UsageStore } {
  const client = documentClient();
  return {
    tenants: new DynamoDbTenantStore({ client, tableName: config.configTable }),
    usage: new DynamoDbUsageStore({ client, tableName: config.usageTable }),
  };
}

export function awsServices(config: AwsConfig): Services {
  const client = documentClient();
  const s3 = new S3Client({});
  return buildServices(
    {
      tenants: new DynamoDbTenantStore({ client, tableName: config.configTable }),
      usage: new DynamoDbUsageStore({ client, tableName: config.usageTable }),
      manualExportJobs: new DynamoDbManualExportStore({ client, tableName: config.configTable }),
      dispatcher: new LambdaExportDispatcher({ client: new LambdaClient({}), functionName: config.exportFunctionName }),
      exportsSink: new S3ObjectSink({ client: s3, bucket: config.exportsBucket }),
      downloadLinks: new S3DownloadLinks({ client: s3, bucket: config.exportsBucket }),
      clock: systemClock,
    },
    { downloadLinkSeconds: config.downloadLinkSeconds },
  );
}
