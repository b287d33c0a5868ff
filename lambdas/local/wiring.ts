/** The local wiring: the same adapters as on AWS, pointed at the embedded emulators. */
import { DynamoDbManualExportStore } from '../adapters/dynamodb/manual-export-store';
import { DynamoDbTenantStore } from '../adapters/dynamodb/tenant-store';
import { DynamoDbUsageStore } from '../adapters/dynamodb/usage-store';
import { InProcessExportDispatcher } from '../adapters/local/in-process-dispatcher';
import { S3DownloadLinks } from '../adapters/s3/download-links';
import { S3ObjectSink } from '../adapters/s3/object-sink';
import type { Clock } from '../ports';
import { buildServices, systemClock, type Services } from '../services';
import type { EmulatorClients, TableNames } from './emulators';

export const LOCAL_TABLES: TableNames = { configTable: 'data-export-config', usageTable: 'data-export-usage' };
export const LOCAL_EXPORTS_BUCKET = 'data-export-exports';

export interface LocalServices extends Services {
  dispatcher: InProcessExportDispatcher;
}

export interface LocalWiringOptions {
  tables?: TableNames;
  exportsBucket?: string;
  clock?: Clock;
}

export function localServices(clients: EmulatorClients, options: LocalWiringOptions = {}): LocalServices {
  const tables = options.tables ?? LOCAL_TABLES;
  const bucket = options.exportsBucket ?? LOCAL_EXPORTS_BUCKET;
  const client = clients.documentClient;
  const dispatcher = new InProcessExportDispatcher();
  const services = buildServices(
    {
      tenants: new DynamoDbTenantStore({ client, tableName: tables.configTable }),
      usage: new DynamoDbUsageStore({ client, tableName: tables.usageTable }),
      manualExportJobs: new DynamoDbManualExportStore({ client, tableName: tables.configTable }),
      dispatcher,
      exportsSink: new S3ObjectSink({ client: clients.s3, bucket }),
      downloadLinks: new S3DownloadLinks({ client: clients.s3, bucket }),
      clock: options.clock ?? systemClock,
    },
    { downloadLinkSeconds: 3600 },
  );
  dispatcher.attach(({ environmentId, jobId }) => services.manualExports.run(environmentId, jobId));
  return { ...services, dispatcher };
}
