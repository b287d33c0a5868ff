import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  createDocumentClient,
  createDynamoDbClient,
  decodeBase64,
  InvalidBase64Error,
} from '../../lambdas/adapters/dynamodb/document-client';

/** The SDK's own decoder: what a DynamoDB client uses by default. */
const sdkDecoder = new DynamoDBClient({ region: 'us-east-1' }).config.base64Decoder;

function catchError(decode: () => unknown): Error {
  try {
    decode();
  } catch (error) {
    return error as Error;
  }
  throw new Error('decoded without an error');
}

const hasLogger = (stack: { identify(): string[] }) =>
  stack.identify().some((entry) => entry.startsWith('loggerMiddleware'));

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

describe('createDynamoDbClient', () => {
  it('decodes Binary attribute values with decodeBase64 and keeps the rest of the configuration', async () => {
    const client = createDynamoDbClient({ region: 'eu-west-1' });
    expect(client.config.base64Decoder).toBe(decodeBase64);
    expect(await client.config.region()).toBe('eu-west-1');
    client.destroy();
  });
});

describe('decodeBase64', () => {
  it("decodes what the SDK's decoder decodes, byte for byte, for every length and padding", () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 97 + length * 31) % 256);
      const text = Buffer.from(bytes).toString('base64');
      expect(decodeBase64(text)).toEqual(sdkDecoder(text));
      expect(Buffer.from(decodeBase64(text))).toEqual(Buffer.from(bytes));
    }
  });

  it.each([
    ['a length that is not whole groups of 4', 'QUJD' + 'QQ'],
    ['a character outside the alphabet', 'QU*D'],
    ['whitespace inside', 'QU D'],
    ['padding inside', 'QQ==QUJD'],
    ['a line break inside', 'QUJ\nQUJD'],
  ])('rejects %s, as the SDK does and with its message', (_case, text) => {
    const sdkError = catchError(() => sdkDecoder(text));
    expect(sdkError).toBeInstanceOf(TypeError);
    const error = catchError(() => decodeBase64(text));
    expect(error).toBeInstanceOf(InvalidBase64Error);
    expect(error).toMatchObject({ name: 'InvalidBase64Error', message: sdkError.message });
  });
});
