/**
 * SDK clients for the emulators, configured as lambdas/local/emulators.ts's createEmulatorClients
 * does, without importing that module: it loads the emulators themselves (dynalite, s3rver, the SES
 * emulator and their web frameworks), which have no place in the measured export process.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoDbClient } from '../lambdas/adapters/dynamodb/document-client';

const common = { region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };

export interface BenchClients {
  dynamodb: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  s3: S3Client;
  destroy(): void;
}

export function benchClients(endpoints: { dynamodbEndpoint?: string; s3Endpoint?: string }): BenchClients {
  const dynamodb = createDynamoDbClient({ ...common, endpoint: endpoints.dynamodbEndpoint ?? 'http://127.0.0.1:9' });
  const documentClient = createDocumentClient(dynamodb);
  const s3 = new S3Client({
    ...common,
    endpoint: endpoints.s3Endpoint ?? 'http://127.0.0.1:9',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    dynamodb,
    documentClient,
    s3,
    destroy: () => {
      dynamodb.destroy();
      s3.destroy();
    },
  };
}
