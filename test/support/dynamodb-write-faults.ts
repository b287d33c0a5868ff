/**
 * Fails DynamoDB writes on a schedule a test controls, through a middleware of the client (inside the
 * SDK's retry loop, as a real 500 would be): `writeRejected` fails the write before it is sent,
 * `answerLost` sends it (the write happens) and then fails, as a response lost on the way back.
 * Either way the SDK retries, so what is tested is that every write of the service survives being
 * retried, also after it took effect.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const DYNAMODB_FAULT_KINDS = ['writeRejected', 'answerLost'] as const;
export type DynamoDbFaultKind = (typeof DYNAMODB_FAULT_KINDS)[number];

export interface DynamoDbFault {
  kind: DynamoDbFaultKind;
  operation: 'PutItem' | 'UpdateItem';
  /** Texts the request's JSON body must all contain, e.g. the item's key. */
  bodyIncludes: string[];
}

export interface DynamoDbWriteFaults {
  /** Queues faults: each applies once, to the first write that matches it. */
  inject(...faults: DynamoDbFault[]): void;
  pending(): number;
  readonly injected: Record<DynamoDbFaultKind, number>;
}

export function injectDynamoDbWriteFaults(client: DynamoDBClient): DynamoDbWriteFaults {
  const queue: DynamoDbFault[] = [];
  const injected = Object.fromEntries(DYNAMODB_FAULT_KINDS.map((kind) => [kind, 0])) as Record<
    DynamoDbFaultKind,
    number
  >;
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      const operation = (request.headers['x-amz-target'] ?? '').split('.')[1];
      // The SDK serializes JSON bodies to bytes (read without its string adapter, which warns).
      const bytes = request.body instanceof Uint8Array ? request.body : undefined;
      const body = bytes
        ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
        : typeof request.body === 'string'
          ? request.body
          : '';
      const index = queue.findIndex(
        (fault) => fault.operation === operation && fault.bodyIncludes.every((text) => body.includes(text)),
      );
      if (index < 0) return next(args);
      const [fault] = queue.splice(index, 1);
      injected[fault.kind]++;
      if (fault.kind === 'answerLost') await next(args);
      throw Object.assign(new Error('Injected DynamoDB fault'), {
        name: 'InternalServerError',
        $fault: 'server',
        $retryable: {},
        $metadata: { httpStatusCode: 500 },
      });
    },
    { step: 'finalizeRequest', priority: 'low', name: 'injectDynamoDbWriteFaults' },
  );
  return { inject: (...faults) => queue.push(...faults), pending: () => queue.length, injected };
}
