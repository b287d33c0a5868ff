/** The one way the service builds its DynamoDB document client, on AWS, in local mode and in the benchmark. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A document client over `client`. The SDK's logger middleware builds a filtered copy of every response
 * for its log, even when no logger is configured and the copy is dropped: 3% of an export's CPU, walking
 * each page's items. The service configures no SDK logger, so the middleware is removed (from `client`'s
 * stack, which the document client shares).
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  client.middlewareStack.remove('loggerMiddleware');
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
