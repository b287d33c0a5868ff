/**
 * Validating a destination (what saving automatic export settings does) against endpoints that are not
 * S3 or misbehave: small node:http servers that redirect, answer HTML or garbage, hang, or trickle
 * their answer. Each gets a specific DestinationError, which the API answers with a 4xx (never a raw
 * 500), within the validation budget. The budget is made small here to keep the tests fast.
 */
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3DestinationGateway, VALIDATION_BUDGET_MS } from '../../lambdas/adapters/s3/destination-gateway';
import { DestinationValidationError } from '../../lambdas/core/destination-input';
import {
  DestinationRejectedError,
  EndpointRedirectError,
  EndpointTooSlowError,
  type Destination,
} from '../../lambdas/core/destination';
import { errorResponse } from '../../lambdas/http/errors';

const BUDGET_MS = 1_500;
const gateway = new S3DestinationGateway({ allowLoopback: true, allowHttp: true, validationBudgetMs: BUDGET_MS });
const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };

const servers: Server[] = [];
let requests = 0;

async function endpointAnswering(listener: RequestListener): Promise<string> {
  const server = createServer((request, response) => {
    requests++;
    listener(request, response);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const destinationAt = (endpoint: string): Destination => ({
  provider: 'Custom',
  bucket: 'customer-exports',
  region: 'auto',
  keyPrefix: 'exports',
  endpoint,
});

/** What validating against the endpoint throws, how long it took, and what the API answers with it. */
async function validateAgainst(endpoint: string) {
  const started = Date.now();
  const error = await gateway.validate(destinationAt(endpoint), credentials).then(
    () => {
      throw new Error('expected the validation to fail');
    },
    (failure: Error) => failure,
  );
  const elapsedMs = Date.now() - started;
  const answer = errorResponse(new DestinationValidationError(error as never));
  return { error, elapsedMs, status: answer.status, body: answer.body as { error: { code: string; message: string } } };
}

beforeEach(() => {
  requests = 0;
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

it('keeps the default budget under API Gateway time limit, with room for the save itself', () => {
  expect(VALIDATION_BUDGET_MS).toBeLessThan(25_000);
});

describe.each([
  [301, 'Moved Permanently'],
  [302, 'Found'],
  [307, 'Temporary Redirect'],
  [308, 'Permanent Redirect'],
])('an endpoint answering %i (%s)', (status) => {
  it('is never followed and answers 400 destination_rejected, saying so', async () => {
    let followed = false;
    const target = await endpointAnswering((_request, response) => {
      followed = true;
      response.end();
    });
    const endpoint = await endpointAnswering((_request, response) => {
      response.writeHead(status, { location: `${target}/customer-exports` }).end('<html>moved</html>');
    });

    const answer = await validateAgainst(endpoint);

    expect(answer.error).toBeInstanceOf(EndpointRedirectError);
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'destination_rejected' } } });
    expect(answer.body.error.message).toBe(
      `The storage endpoint ${endpoint} answered with a redirect (HTTP ${status}) instead of an S3 answer. Redirects are not followed: enter the address of the S3 API itself.`,
    );
    expect(followed).toBe(false);
    expect(requests).toBe(1);
  });
});

describe.each([
  ['an HTML page', 'text/html', '<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>'],
  ['garbage bytes', 'application/octet-stream', Buffer.from([0, 1, 2, 0xff, 0xfe, 0x3c, 0x3e, 0x21])],
  ['JSON', 'application/json', '{"buckets": []}'],
  ['an empty body', 'application/xml', ''],
])('an endpoint answering 200 with %s', (_label, contentType, body) => {
  it('answers 400 destination_rejected: not an S3 listing', async () => {
    const endpoint = await endpointAnswering((_request, response) => {
      response.writeHead(200, { 'content-type': contentType }).end(body);
    });

    const answer = await validateAgainst(endpoint);

    expect(answer.error).toBeInstanceOf(DestinationRejectedError);
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'destination_rejected' } } });
    expect(answer.body.error.message).toMatch(
      /^The storage provider rejected the export \(its answer (to a bucket listing )?is not an S3 (listing|answer)\)/,
    );
    expect(answer.body.error.message).not.toMatch(/nginx|XML parse|Deserialization/);
  });
});

describe.each<[string, RequestListener]>([
  ['accepts the connection and never answers', () => undefined],
  [
    'sends its headers, then never the body',
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.write('<?xml version="1.0" encoding="UTF-8"?>');
    },
  ],
  [
    'trickles its answer, a byte every 100 ms',
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      const trickle = setInterval(() => response.write(' '), 100);
      response.on('close', () => clearInterval(trickle));
    },
  ],
  [
    'answers 200 after 10 seconds',
    (_request, response) => {
      const late = setTimeout(() => response.writeHead(200).end('<ListBucketResult/>'), 10_000);
      response.on('close', () => clearTimeout(late));
    },
  ],
])('an endpoint that %s', (_label, listener) => {
  it('is cut at the validation budget and answers 400 endpoint_unreachable', async () => {
    const endpoint = await endpointAnswering(listener);

    const answer = await validateAgainst(endpoint);

    expect(answer.error).toBeInstanceOf(EndpointTooSlowError);
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'endpoint_unreachable' } } });
    expect(answer.body.error.message).toBe(
      `The storage endpoint ${endpoint} did not answer a bucket listing within 2 seconds. Check that the endpoint URL is the S3 API of your storage and that it is up, then save again.`,
    );
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(BUDGET_MS - 50);
    expect(answer.elapsedMs).toBeLessThan(BUDGET_MS + 3_000);
  });
});

it('answers an HTML error page with a 5xx as temporarily unavailable (503), after its retries, within the budget', async () => {
  const endpoint = await endpointAnswering((_request, response) => {
    response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>');
  });

  const answer = await validateAgainst(endpoint);

  expect(answer).toMatchObject({ status: 503, body: { error: { code: 'temporarily_unavailable' } } });
  expect(requests).toBe(3);
  expect(answer.elapsedMs).toBeLessThan(BUDGET_MS);
});
