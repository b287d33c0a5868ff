/** The one way the service builds its DynamoDB clients, on AWS, in local mode and in the benchmark. */
import {
  DynamoDBClient,
  QueryCommand as StoredItemsQueryCommand,
  type DynamoDBClientConfig,
  type QueryCommandInput as StoredItemsQueryInput,
  type QueryCommandOutput as StoredItemsQueryOutput,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export class InvalidBase64Error extends TypeError {
  override readonly name = 'InvalidBase64Error';
}

/**
 * Decodes a Binary attribute value as the SDK's default decoder does, with the same two checks
 * (padding, then every character decoded) but without its regular expression over the whole text: that
 * took 3% of an export's CPU, as each usage item holds a day log of a few hundred base64 characters.
 * Node's decoder skips characters outside the alphabet, so the decoded length reveals them. (It also
 * reads the URL-safe `-` and `_`, which DynamoDB never sends.)
 */
export function decodeBase64(text: string): Uint8Array {
  if ((text.length * 3) % 4 !== 0) throw new InvalidBase64Error('Incorrect padding on base64 string.');
  const bytes = Buffer.from(text, 'base64');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (bytes.byteLength !== (text.length / 4) * 3 - padding) throw new InvalidBase64Error('Invalid base64 string.');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A DynamoDB client with the service's base64 decoder; `config` as for `new DynamoDBClient`. */
export function createDynamoDbClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ ...config, base64Decoder: decodeBase64 });
}

/**
 * A document client over `client`. The SDK's logger middleware builds a filtered copy of every response
 * for its log, even when no logger is configured and the copy is dropped: 3% of an export's CPU, walking
 * each page's items. The service configures no SDK logger, so the middleware is removed (from `client`'s
 * stack, which the document client shares).
 *
 * `removeUndefinedValues`: an optional field left undefined inside a map (a destination's `endpoint`) is
 * dropped, as the document client drops one at the top level of an item, instead of failing the write.
 * `convertClassInstanceToMap`: the marshaller tells plain objects from class instances by their
 * `constructor` property, so a map of tracked attributes with a key named `constructor` would be
 * refused as a class instance; the service stores only plain data, so every object is a map.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  client.middlewareStack.remove('loggerMiddleware');
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

/**
 * A Query whose items come back as DynamoDB sends them (`{ S: "..." }`), for a reader that converts its
 * own items: the document client's generic conversion of every attribute took 4% of an export's CPU.
 * A document client wraps the low-level client and shares its configuration and middleware, so it sends
 * the low-level command as that client would; its types only list its own commands.
 */
export function queryStoredItems(
  client: DynamoDBDocumentClient,
  input: StoredItemsQueryInput,
): Promise<StoredItemsQueryOutput> {
  return client.send(new StoredItemsQueryCommand(input));
}
