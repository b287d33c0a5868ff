import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/document-client';

const hasLogger = (stack: { identify(): string[] }) => stack.identify().some((entry) => entry.startsWith('loggerMiddleware'));

describe('createDocumentClient', () => {
  it("drops the SDK's logger middleware, which filters every response for a log nobody reads", () => {
    const client = new DynamoDBClient({ region: 'us-east-1' });
    expect(hasLogger(client.middlewareStack)).toBe(true);
    const documentClient = createDocumentClient(client);
    expect(hasLogger(documentClient.middlewareStack)).toBe(false);
    expect(hasLogger(client.middlewareStack)).toBe(false);
    client.destroy();
  });
});
