/**
 * A fault-injecting HTTP proxy in front of s3rver, for tests: requests pass through unchanged unless a
 * fault the test scheduled matches them (by S3 operation and object key). Faults: 500 InternalError,
 * 503 SlowDown (throttling), a connection reset in the middle of the request body, or a stall (the
 * request is read and never answered, as an upload that stops moving).
 *
 * It also keeps the books of multipart uploads, which s3rver cannot show (it has neither
 * ListMultipartUploads nor AbortMultipartUpload): uploads created, completed and aborted, so a test can
 * assert that none is left dangling. AbortMultipartUpload is answered here (204, as S3 does).
 */
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAULT_KINDS = ['error500', 'slowDown503', 'reset', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type S3Operation =
  | 'PutObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListObjectsV2'
  | 'Other';

export interface Fault {
  kind: FaultKind;
  operation: S3Operation;
  /** Only requests whose object key contains this text (e.g. an environment id). */
  keyIncludes?: string;
}

export interface FaultyS3Proxy {
  endpoint: string;
  /** Queues faults: each applies once, to the first request that matches it. */
  inject(...faults: Fault[]): void;
  /** Faults still queued (for `keyIncludes`, or all). */
  pending(keyIncludes?: string): number;
  /** Faults applied so far, by kind. */
  readonly injected: Record<FaultKind, number>;
  /** Called when a request stalls, with its object key (e.g. to let the test end the run's wait). */
  onStall: ((key: string) => void) | undefined;
  /** Multipart uploads by id, as their requests went through. */
  readonly uploads: Map<string, { key: string; state: 'open' | 'completed' | 'aborted' }>;
  close(): Promise<void>;
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FAULTY0PROXY</RequestId></Error>`;

function operationOf(method: string, query: URLSearchParams): S3Operation {
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'PUT' && query.has('partNumber')) return 'UploadPart';
  if (method === 'POST' && query.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE' && query.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'PUT') return 'PutObject';
  if (method === 'GET' && query.get('list-type') === '2') return 'ListObjectsV2';
  return 'Other';
}

export async function startFaultyS3Proxy(target: string): Promise<FaultyS3Proxy> {
  const targetUrl = new URL(target);
  const queue: Fault[] = [];
  const injected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const uploads = new Map<string, { key: string; state: 'open' | 'completed' | 'aborted' }>();

  const proxy: FaultyS3Proxy = {
    endpoint: '',
    inject: (...faults) => queue.push(...faults),
    pending: (keyIncludes) => queue.filter((fault) => !keyIncludes || fault.keyIncludes === keyIncludes).length,
    onStall: undefined,
    injected,
    uploads,
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };

  const answerError = (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    status: number,
    code: string,
    message: string,
  ) => {
    // The request body is read first, as S3 does, so the client is not cut off mid-upload.
    incoming.resume().on('end', () => {
      outgoing.writeHead(status, { 'content-type': 'application/xml' }).end(errorXml(code, message));
    });
  };

  function applyFault(fault: Fault, key: string, incoming: IncomingMessage, outgoing: ServerResponse): void {
    injected[fault.kind]++;
    switch (fault.kind) {
      case 'error500':
        return answerError(
          incoming,
          outgoing,
          500,
          'InternalError',
          'We encountered an internal error. Please try again.',
        );
      case 'slowDown503':
        return answerError(incoming, outgoing, 503, 'SlowDown', 'Please reduce your request rate.');
      case 'reset':
        // Cut the connection once the body has started to arrive (or at once, without a body).
        incoming.once('data', () => incoming.socket.destroy());
        incoming.once('end', () => incoming.socket.destroy());
        return;
      case 'stall':
        incoming.resume();
        proxy.onStall?.(key);
        return;
    }
  }

  /** Forwards to s3rver, keeping the books of multipart uploads from what passes. */
  function forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    operation: S3Operation,
    key: string,
    query: URLSearchParams,
  ) {
    const forwarded = request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const ok = (answer.statusCode ?? 500) < 300 && !body.includes('<Error>');
          if (ok && operation === 'CreateMultipartUpload') {
            const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString('utf8'))?.[1];
            if (uploadId) uploads.set(uploadId, { key, state: 'open' });
          }
          const upload = uploads.get(query.get('uploadId') ?? '');
          if (ok && operation === 'CompleteMultipartUpload' && upload) upload.state = 'completed';
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers).end(body);
        });
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  }

  const server: Server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
    const operation = operationOf(incoming.method ?? 'GET', url.searchParams);
    const index = queue.findIndex(
      (fault) => fault.operation === operation && (!fault.keyIncludes || key.includes(fault.keyIncludes)),
    );
    if (index >= 0) return applyFault(queue.splice(index, 1)[0], key, incoming, outgoing);
    if (operation === 'AbortMultipartUpload') {
      const upload = uploads.get(url.searchParams.get('uploadId') ?? '');
      if (upload && upload.state === 'open') upload.state = 'aborted';
      incoming.resume().on('end', () => outgoing.writeHead(upload ? 204 : 404).end());
      return;
    }
    forward(incoming, outgoing, operation, key, url.searchParams);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
