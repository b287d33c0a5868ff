/** The manual export limit over HTTP: a third concurrent start gets 429 with Retry-After and a message. */
import type { ManualExportRequest } from '../../lambdas/ports';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant } from '../support/tenants';

let service: TestService;
let member: string;
let environmentId: string;
/** Jobs wait here before they run, so the test decides when the first exports finish. */
let openGate: () => void;

beforeAll(async () => {
  service = await startTestService();
  ({ environmentId, token: member } = await createTenant(service, 'pro', 'Acme'));
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  service.services.dispatcher.attach(async ({ environmentId: envId, jobId }: ManualExportRequest) => {
    await gate;
    await service.services.manualExports.run(envId, jobId);
  });
});

afterAll(() => service.stop());

/** fetch itself (not service.call) for the response headers. */
async function start(): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${service.url}/v1/environments/${environmentId}/exports/manual`, {
    method: 'POST',
    headers: { authorization: `Bearer ${member}`, 'content-type': 'application/json' },
    body: JSON.stringify({ aggregation: 'snapshot' }),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

it('answers a third concurrent start with 429 too_many_exports and Retry-After, and accepts again once one finished', async () => {
  expect((await start()).status).toBe(202);
  expect((await start()).status).toBe(202);

  const refused = await start();
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBe('30');
  expect(refused.body.error.code).toBe('too_many_exports');
  expect(refused.body.error.message).toMatch(/At most 2 manual exports .* in 30 seconds or later/);

  openGate();
  await service.services.dispatcher.idle();
  const accepted = await start();
  expect(accepted.status).toBe(202);
  expect(accepted.headers.get('retry-after')).toBeNull();
});
