/**
 * The customers' storage, simulated for local mode and tests: a thin proxy in front of s3rver whose
 * access can be revoked or made unavailable, to see what a broken destination does. s3rver has no
 * access control, so "a key without privileges" is simulated here too: requests signed with the access key id NOPRIVS, and writes signed with READONLY (a key that
 * may list but not write), get S3's real 403 AccessDenied answer; every other request is forwarded
 * to s3rver, READONLY's as s3rver's own key (s3rver does not check signatures).
 *
 * Bucket policies: requests signed with the service's own local identity (SERVICE_IDENTITY_KEY, what
 * bucket-policy destinations use locally) are writes the bucket's policy grants to the service's export
 * role. While the policy is `granted` they may write objects (nothing else: the policy grants
 * s3:PutObject only); once `revoked`, S3's 403 AccessDenied, as when a customer removes the policy.
 */
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const KEY_WITHOUT_PRIVILEGES = 'NOPRIVS';
export const READ_ONLY_KEY = 'READONLY';
/** The access key id of the service's own identity in local mode (the export role's, on AWS). */
export const SERVICE_IDENTITY_KEY = 'DATAEXPORTSERVICE';
export const SERVICE_IDENTITY_CREDENTIALS = {
  accessKeyId: SERVICE_IDENTITY_KEY,
  secretAccessKey: 'local-export-role',
} as const;

/** Whether the buckets' policy grants the service's export role writes. */
export const BUCKET_POLICY_STATES = ['granted', 'revoked'] as const;
export type BucketPolicyState = (typeof BUCKET_POLICY_STATES)[number];

/** Object writes: PutObject and the multipart upload requests (s3:PutObject covers them all). */
const isObjectWrite = (method: string | undefined, url: string | undefined): boolean =>
  (method === 'PUT' || method === 'POST') && /^\/[^/?]+\/[^?]+/.test(url ?? '');

/** `revoked`: every key has lost its privileges; `unavailable`: S3 answers 503 SlowDown (throttled). */
export const CUSTOMER_STORAGE_MODES = ['granted', 'revoked', 'unavailable'] as const;
export type CustomerStorageMode = (typeof CUSTOMER_STORAGE_MODES)[number];

export interface CustomerStorage {
  endpoint: string;
  mode: CustomerStorageMode;
  /** The buckets' policy for the service's export role: `granted` until revoked. */
  bucketPolicy: BucketPolicyState;
  close(): Promise<void>;
}

const ERROR_XML = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>proxy</HostId></Error>`;

export async function startCustomerStorage(target: string, port = 0): Promise<CustomerStorage> {
  const targetUrl = new URL(target);
  const proxy = { mode: 'granted' as CustomerStorageMode, bucketPolicy: 'granted' as BucketPolicyState };
  const server: Server = createServer((incoming, outgoing) => {
    const authorization = incoming.headers.authorization ?? '';
    const readOnly = authorization.includes(`Credential=${READ_ONLY_KEY}/`);
    const service = authorization.includes(`Credential=${SERVICE_IDENTITY_KEY}/`);
    const denied =
      proxy.mode === 'revoked' ||
      authorization.includes(`Credential=${KEY_WITHOUT_PRIVILEGES}/`) ||
      (readOnly && incoming.method !== 'GET') ||
      (service && (proxy.bucketPolicy === 'revoked' || !isObjectWrite(incoming.method, incoming.url)));
    if (denied || proxy.mode === 'unavailable') {
      // Read the request body first, as S3 does, so the client is not cut off mid-upload.
      incoming.resume().on('end', () => {
        outgoing.writeHead(denied ? 403 : 503, { 'content-type': 'application/xml' });
        outgoing.end(
          denied
            ? ERROR_XML('AccessDenied', 'Access Denied')
            : ERROR_XML('SlowDown', 'Please reduce your request rate.'),
        );
      });
      return;
    }
    const headers =
      readOnly || service
        ? {
            ...incoming.headers,
            authorization: authorization.replace(
              `Credential=${service ? SERVICE_IDENTITY_KEY : READ_ONLY_KEY}/`,
              'Credential=S3RVER/',
            ),
          }
        : incoming.headers;
    const forwarded = request(
      { host: targetUrl.hostname, port: targetUrl.port, method: incoming.method, path: incoming.url, headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get mode() {
      return proxy.mode;
    },
    set mode(mode: CustomerStorageMode) {
      proxy.mode = mode;
    },
    get bucketPolicy() {
      return proxy.bucketPolicy;
    },
    set bucketPolicy(state: BucketPolicyState) {
      proxy.bucketPolicy = state;
    },
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
