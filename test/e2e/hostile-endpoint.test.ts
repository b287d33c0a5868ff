/**
 * A hostile S3-compatible endpoint cannot use the service's email identity as a relay: it lists the
 * bucket (so the settings save), then refuses every upload with an error whose code and message carry
 * a link and markup. The warning email that reaches aws-ses-v2-local words the failure in the
 * service's own terms, and the long folder name the customer typed arrives shortened.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant } from '../support/tenants';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-24T00:00:00Z');
let now = T0 - 10 * HOUR;
const clock = { now: () => now };
const BUCKET = 'acme-exports';
const OWNER = 'owner@customer.example';
const EVIL_CODE = 'Visit-https://evil.example/login';
const EVIL_MESSAGE = '<a href="https://evil.example/login">Your account is locked: sign in here</a>';
/** A long folder name (under any sane prefix limit), each segment valid. */
const KEY_PREFIX = Array.from({ length: 50 }, (_, i) => `folder${String(i).padStart(2, '0')}x`).join('/');

let service: TestService;
let hostile: Server;
let endpoint: string;

beforeAll(async () => {
  service = await startTestService({ clock });
  hostile = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'GET' && request.url?.includes('list-type=2')) {
        response.writeHead(200, { 'content-type': 'application/xml' });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${BUCKET}</Name><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
        );
        return;
      }
      response.writeHead(400, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${EVIL_CODE}</Code><Message><![CDATA[${EVIL_MESSAGE}]]></Message></Error>`,
      );
    });
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => hostile.close(resolve));
  await service.stop();
});

it('sends a warning in its own words, with the folder shortened, and nothing the endpoint said', async () => {
  const { environmentId, token: member } = await createTenant(service, 'enterprise', 'Hostile');
  const saved = await service.call('PUT', `/v1/environments/${environmentId}/data-export/settings`, {
    token: member,
    body: {
      enabled: true,
      provider: 'Custom',
      bucket: BUCKET,
      region: 'us-east-1',
      key: KEY_PREFIX,
      endpoint,
      accessKeyId: 'AKIAHOSTILE',
      secretAccessKey: 'secret',
      notifyEmails: [OWNER],
    },
  });
  expect(saved.status).toBe(200);

  now = T0 + 60_000;
  const run = await service.call('POST', '/local/scheduler/fire', {
    body: { envId: environmentId, scheduledTime: new Date(T0).toISOString(), now: new Date(now).toISOString() },
  });
  expect(run.body).toMatchObject({ outcome: 'failed', errorCode: 'destination_rejected', failureClass: 'customer' });

  now = T0 + HOUR;
  const check = await service.call('POST', '/local/check-failures', { body: { now: new Date(now).toISOString() } });
  expect(check.body.emailsSent).toEqual([{ environmentId, email: 1 }]);

  const { emails } = (await (await fetch(`${service.emulators.sesEndpoint}/store`)).json()) as {
    emails: {
      subject: string;
      destination: { to: string[]; cc?: string[]; bcc?: string[] };
      body: { text: string; html: string };
    }[];
  };
  const mine = emails.filter((email) => email.body.text.includes(`environments/${environmentId}/`));
  expect(mine).toHaveLength(1);
  const [email] = mine;
  expect(email.destination.to).toEqual([OWNER]);
  for (const part of [email.subject, email.body.text, email.body.html]) {
    expect(part).not.toContain('evil.example');
    expect(part).not.toContain('Visit-');
    expect(part).not.toContain('sign in here');
    expect(part).not.toContain(KEY_PREFIX);
  }
  expect(email.body.text).toContain('The error: The storage provider rejected the upload.');
  expect(email.body.text).toContain(`(folder "${KEY_PREFIX.slice(0, 79)}…")`);
  expect(email.body.html.match(/<a /g)).toHaveLength(1); // the link to the settings page, nothing else
});
