/**
 * FailureCheckService against in-memory fakes of its ports, and the failure emails' content: the
 * exact 24 h / 72 h boundaries, exactly-once sends under overlapping and retried checks, failed sends,
 * exports turned off meanwhile, and isolation between exports.
 */
import type { AutomaticExportSettings } from '../../lambdas/ports';
import type { Destination } from '../../lambdas/core/destination';
import {
  FailureCheckService,
  TRANSIENT_ALARM_AFTER_MS,
  settingsPageUrl,
  type FailureCheckResult,
} from '../../lambdas/core/failure-check';
import { errorWording, failureEmail, type FailureEmailContext } from '../../lambdas/core/failure-emails';
import { SECOND_EMAIL_AFTER_MS, STOP_AFTER_MS } from '../../lambdas/core/warning-sequence';
import {
  FakeClock,
  FakeExportRunStore,
  FakeFailingExportsStore,
  FakeMailer,
  FakeScheduler,
  FakeSettingsStore,
  FakeTenantStore,
} from '../support/fakes';

const HOUR = 3_600_000;
const ms = (iso: string): number => Date.parse(iso);

const ORG = 'org-acme';
const ENV = 'env-prod';
const ENV_B = 'env-staging';
const F = ms('2026-03-10T00:01:30Z');
/** The run's error as the endpoint's answer phrased it; the emails word its class (access_denied) themselves. */
const ERROR = 'Access denied: the key is valid but may not list and write objects in bucket "acme-exports".';
const ERROR_WORDING = errorWording('access_denied');
const DASHBOARD = 'https://app.example.com/';
const SETTINGS_URL = `https://app.example.com/environments/${ENV}/settings/data-export`;

const destination: Destination = { provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: 'daily' };

function enabledSettings(environmentId: string): AutomaticExportSettings {
  return {
    environmentId,
    enabled: true,
    cadence: 'daily',
    destination,
    bucketUrl: 'https://acme-exports.s3.eu-west-1.amazonaws.com/daily',
    accessKeyId: 'AKIAEXAMPLE00001234',
    sealedSecretAccessKey: 'sealed:xyz',
    notifyEmails: ['data@acme.example', 'ops@acme.example'],
    updatedAt: F - DAY,
    version: 1,
  };
}
const DAY = 24 * HOUR;

async function setup() {
  const tenants = new FakeTenantStore();
  const settings = new FakeSettingsStore();
  const runs = new FakeExportRunStore();
  const failing = new FakeFailingExportsStore(runs);
  const scheduler = new FakeScheduler();
  const mailer = new FakeMailer();
  const clock = new FakeClock(F);
  await tenants.createOrganization({ id: ORG, name: 'Acme', plan: 'enterprise', createdAt: 0 });
  const service = new FailureCheckService({
    failing,
    settings,
    tenants,
    scheduler,
    mailer,
    clock,
    dashboardUrl: DASHBOARD,
  });
  return { service, tenants, settings, runs, failing, scheduler, mailer, clock };
}
type World = Awaited<ReturnType<typeof setup>>;

/** An enabled, scheduled export whose run failed on the customer's side, finishing at `failingSince`. */
async function failingExport(world: World, environmentId = ENV, name = 'Production', failingSince = F) {
  await world.tenants.createEnvironment({
    id: environmentId,
    organizationId: ORG,
    name,
    ingestKeyHash: `hash-${environmentId}`,
    ingestKeyPrefix: 'ik_abc',
    createdAt: 0,
  });
  // Saved and reconciled, as the customer's save left it.
  await world.settings.put(enabledSettings(environmentId), 0);
  world.scheduler.schedules.set(environmentId, 'daily');
  await world.settings.markReconciled(environmentId, 1);
  await world.runs.recordOutcome(environmentId, failingSince - 60_000, {
    status: 'failed',
    finishedAt: failingSince,
    durationMs: 60_000,
    error: ERROR,
    errorCode: 'access_denied',
    failureClass: 'customer',
  });
}

async function listed(world: World): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of world.failing.listFailing()) ids.push(item.environmentId);
  return ids;
}

const emailNumbers = (results: FailureCheckResult[]) => results.flatMap((r) => r.emailsSent.map((e) => e.email));

describe('FailureCheckService', () => {
  it('sends email 1 right after F, to every address, with the error and the link', async () => {
    const world = await setup();
    await failingExport(world);
    const result = await world.service.check(F + 60_000);

    expect(result).toMatchObject({ examined: 1, emailsSent: [{ environmentId: ENV, email: 1 }], stopped: [] });
    expect(world.mailer.sent).toHaveLength(1);
    const [mail] = world.mailer.sent;
    expect(mail.to).toEqual(['data@acme.example', 'ops@acme.example']);
    expect(mail.subject).toBe('Automatic export for Production is failing');
    expect(mail.text).toContain(`The error: ${ERROR_WORDING}`);
    expect(mail.text).not.toContain(ERROR);
    expect(mail.text).toContain(SETTINGS_URL);
    expect((await world.runs.getStatus(ENV))?.emailsSent).toEqual([1]);
  });

  it('uses the clock when no instant is given', async () => {
    const world = await setup();
    await failingExport(world);
    world.clock.set(F + 5 * 60_000);
    await world.service.check();
    world.clock.set(F + SECOND_EMAIL_AFTER_MS);
    await world.service.check();
    world.clock.set(F + STOP_AFTER_MS - 1);
    await world.service.check();
    expect(world.mailer.sent.map((m) => m.subject.split(' ')[0])).toEqual(['Automatic', 'Reminder:']);
  });

  it('sends email 2 at exactly 24 h, not 1 ms before', async () => {
    const world = await setup();
    await failingExport(world);
    await world.service.check(F);
    const before = await world.service.check(F + SECOND_EMAIL_AFTER_MS - 1);
    expect(before.emailsSent).toEqual([]);
    const at = await world.service.check(F + SECOND_EMAIL_AFTER_MS);
    expect(at.emailsSent).toEqual([{ environmentId: ENV, email: 2 }]);
    expect(world.mailer.sent[1].subject).toBe(
      'Reminder: automatic export for Production still failing, stops 2026-03-13 00:01 UTC',
    );
    expect(world.scheduler.calls).toEqual([]);
    expect((await world.settings.get(ENV))!.enabled).toBe(true);
  });

  it('sends email 3 and stops the export at exactly 72 h, not 1 ms before', async () => {
    const world = await setup();
    await failingExport(world);
    await world.service.check(F + 1);
    await world.service.check(F + SECOND_EMAIL_AFTER_MS);
    const before = await world.service.check(F + STOP_AFTER_MS - 1);
    expect(before).toMatchObject({ examined: 1, emailsSent: [], stopped: [] });
    expect(world.scheduler.calls).toEqual([]);

    const stop = F + STOP_AFTER_MS;
    const at = await world.service.check(stop);
    expect(at).toMatchObject({ examined: 1, emailsSent: [{ environmentId: ENV, email: 3 }], stopped: [ENV] });
    expect(world.mailer.sent.map((m) => m.subject)).toEqual([
      'Automatic export for Production is failing',
      'Reminder: automatic export for Production still failing, stops 2026-03-13 00:01 UTC',
      'Automatic export stopped for Production',
    ]);
    const settings = (await world.settings.get(ENV))!;
    expect(settings).toMatchObject({
      enabled: false,
      stoppedAt: stop,
      stoppedReason: `Stopped after failing for 72 hours. Last error: ${ERROR_WORDING}`,
    });
    expect(settings.destination).toEqual(destination);
    expect(world.scheduler.calls).toEqual([{ op: 'remove', environmentId: ENV }]);
    expect(world.scheduler.schedules.has(ENV)).toBe(false);
    expect(await listed(world)).toEqual([]);
    // Its status is kept for the status page.
    expect(await world.runs.getStatus(ENV)).toMatchObject({ lastStatus: 'failed', lastError: ERROR, failingSince: F });

    const after = await world.service.check(stop + HOUR);
    expect(after).toMatchObject({ examined: 0, emailsSent: [], stopped: [] });
    expect(world.mailer.sent).toHaveLength(3);
  });

  it('sends each email exactly once over hourly checks from F to 80 h, at the first check past each threshold', async () => {
    const world = await setup();
    await failingExport(world);
    const sentAt: { hour: number; email: number }[] = [];
    for (let hour = 0; hour <= 80; hour++) {
      const result = await world.service.check(F + hour * HOUR);
      for (const e of result.emailsSent) sentAt.push({ hour, email: e.email });
    }
    expect(sentAt).toEqual([
      { hour: 0, email: 1 },
      { hour: 24, email: 2 },
      { hour: 72, email: 3 },
    ]);
    expect(world.scheduler.calls).toHaveLength(1);
  });

  it('sends a missed email 1 before the reminder when the first check comes after 24 h', async () => {
    const world = await setup();
    await failingExport(world);
    expect((await world.service.check(F + 30 * HOUR)).emailsSent).toEqual([{ environmentId: ENV, email: 1 }]);
    expect((await world.service.check(F + 31 * HOUR)).emailsSent).toEqual([{ environmentId: ENV, email: 2 }]);
    expect((await world.service.check(F + 32 * HOUR)).emailsSent).toEqual([]);
  });

  it('stops at 72 h without waiting for warnings that were never sent', async () => {
    const world = await setup();
    await failingExport(world);
    const result = await world.service.check(F + STOP_AFTER_MS + HOUR);
    expect(result).toMatchObject({ examined: 1, emailsSent: [{ environmentId: ENV, email: 3 }], stopped: [ENV] });
    expect((await world.settings.get(ENV))!.enabled).toBe(false);
  });

  it('sends each email once when several checks overlap', async () => {
    const world = await setup();
    await failingExport(world);
    const overlapping = (at: number) => Promise.all(Array.from({ length: 5 }, () => world.service.check(at)));

    expect(emailNumbers(await overlapping(F + 10 * 60_000))).toEqual([1]);
    expect(emailNumbers(await overlapping(F + SECOND_EMAIL_AFTER_MS + 60_000))).toEqual([2]);
    const stopping = await overlapping(F + STOP_AFTER_MS);
    expect(emailNumbers(stopping)).toEqual([3]);
    expect(stopping.flatMap((r) => r.stopped)).toEqual([ENV]);
    expect(world.mailer.sent).toHaveLength(3);
    expect(world.scheduler.calls).toEqual([{ op: 'remove', environmentId: ENV }]);
  });

  it('sends each email once when overlapping checks run at different instants', async () => {
    const world = await setup();
    await failingExport(world);
    const round = await Promise.all(
      [F + HOUR, F + 2 * HOUR, F + 25 * HOUR, F + 26 * HOUR].map((at) => world.service.check(at)),
    );
    const numbers = emailNumbers(round);
    expect(numbers.length).toBeGreaterThan(0);
    expect(new Set(numbers).size).toBe(numbers.length);
    await world.service.check(F + 27 * HOUR);
    await world.service.check(F + 28 * HOUR);
    expect(world.mailer.sent.map((m) => m.subject).sort()).toEqual([
      'Automatic export for Production is failing',
      'Reminder: automatic export for Production still failing, stops 2026-03-13 00:01 UTC',
    ]);
  });

  it('gives the claim back when sending fails, so the next check sends the email once', async () => {
    const world = await setup();
    await failingExport(world);
    world.mailer.failNext = 1;
    const failed = await world.service.check(F + HOUR);
    expect(failed).toMatchObject({ examined: 1, emailsSent: [], stopped: [] });
    expect(world.mailer.attempts).toHaveLength(1);
    expect(world.mailer.sent).toHaveLength(0);
    expect(world.failing.calls.filter((c) => c.op === 'release')).toEqual([
      { op: 'release', environmentId: ENV, failingSince: F, email: 1 },
    ]);
    expect((await world.runs.getStatus(ENV))?.emailsSent ?? []).toEqual([]);

    const retried = await world.service.check(F + 2 * HOUR);
    expect(retried.emailsSent).toEqual([{ environmentId: ENV, email: 1 }]);
    await world.service.check(F + 3 * HOUR);
    expect(world.mailer.sent.map((m) => m.subject)).toEqual(['Automatic export for Production is failing']);
  });

  it('keeps the export stopped when email 3 cannot be sent, and sends email 3 exactly once at the next check', async () => {
    const world = await setup();
    await failingExport(world);
    await world.service.check(F);
    await world.service.check(F + SECOND_EMAIL_AFTER_MS);
    const stop = F + STOP_AFTER_MS;
    world.mailer.failNext = 1;

    const failed = await world.service.check(stop);
    expect(failed).toMatchObject({ examined: 1, emailsSent: [], stopped: [] });
    expect((await world.settings.get(ENV))!).toMatchObject({ enabled: false, stoppedAt: stop });
    expect(world.scheduler.schedules.has(ENV)).toBe(false);
    expect(await listed(world)).toEqual([ENV]);

    const retries = await Promise.all([world.service.check(stop + HOUR), world.service.check(stop + HOUR)]);
    expect(emailNumbers(retries)).toEqual([3]);
    expect(retries.flatMap((r) => r.stopped)).toEqual([ENV]);
    expect(world.mailer.sent.filter((m) => m.subject === 'Automatic export stopped for Production')).toHaveLength(1);
    // Stopped when it was stopped, not when the email finally went out.
    expect((await world.settings.get(ENV))!).toMatchObject({ enabled: false, stoppedAt: stop });
    expect(await listed(world)).toEqual([]);

    await world.service.check(stop + 2 * HOUR);
    expect(world.mailer.sent).toHaveLength(3);
  });

  it('sends a stopped export email 3, not a reminder, also from an overlapping check as of an earlier instant', async () => {
    const world = await setup();
    await failingExport(world);
    await world.service.check(F);
    const stop = F + STOP_AFTER_MS;
    world.mailer.failNext = 1;
    await world.service.check(stop); // stopped, email 3 unsent
    const late = await world.service.check(stop - 2 * HOUR); // a check that began before the stop
    expect(late).toMatchObject({ examined: 1, emailsSent: [{ environmentId: ENV, email: 3 }], stopped: [ENV] });
    expect(world.mailer.sent.map((m) => m.subject)).toEqual([
      'Automatic export for Production is failing',
      'Automatic export stopped for Production',
    ]);
    expect((await world.settings.get(ENV))!.stoppedAt).toBe(stop);
  });

  it('does not stop an export whose settings the customer saved while the check was deciding, and gives email 3 back', async () => {
    const world = await setup();
    await failingExport(world);
    await world.service.check(F);
    const saved = { ...enabledSettings(ENV), cadence: 'weekly' as const, updatedAt: F + STOP_AFTER_MS - 1, version: 2 };
    world.settings.beforeStop = async () => {
      await world.settings.put(saved, 1);
      await world.settings.markReconciled(ENV, 2);
    };

    const result = await world.service.check(F + STOP_AFTER_MS);
    expect(result).toMatchObject({ examined: 1, emailsSent: [], stopped: [] });
    expect(await world.settings.get(ENV)).toEqual(saved);
    expect(world.scheduler.calls).toEqual([]);
    expect(world.mailer.sent).toHaveLength(1);
    expect((await world.runs.getStatus(ENV))?.emailsSent).toEqual([1]);
  });

  it('schedules the export again when a customer save races the removal of the schedule', async () => {
    const world = await setup();
    await failingExport(world);
    await world.service.check(F);
    world.scheduler.beforeRemove = async () => {
      // The customer's save after the stop (version 2), reconciled before the check's removal lands.
      await world.settings.put(
        { ...enabledSettings(ENV), cadence: 'weekly', updatedAt: F + STOP_AFTER_MS + 1, version: 3 },
        2,
      );
      await world.scheduler.upsert(ENV, 'weekly');
    };
    await world.service.check(F + STOP_AFTER_MS);
    expect(world.scheduler.schedules.get(ENV)).toBe('weekly');
    expect(world.scheduler.calls.at(-1)).toEqual({ op: 'upsert', environmentId: ENV, cadence: 'weekly' });
  });

  it('ends the sequence without an email when the customer disabled the export meanwhile', async () => {
    const world = await setup();
    await failingExport(world);
    await world.service.check(F);
    await world.settings.put({ ...enabledSettings(ENV), enabled: false, version: 2 }, 1);
    await world.scheduler.remove(ENV);
    await world.settings.markReconciled(ENV, 2);
    world.scheduler.calls.length = 0;

    const result = await world.service.check(F + SECOND_EMAIL_AFTER_MS);
    expect(result).toMatchObject({ examined: 1, emailsSent: [], stopped: [] });
    expect(world.mailer.sent).toHaveLength(1);
    expect(world.failing.calls.filter((c) => c.op === 'end')).toEqual([
      { op: 'end', environmentId: ENV, failingSince: F },
    ]);
    expect(world.failing.calls.filter((c) => c.op === 'claim' && c.email === 2)).toEqual([]);
    expect(await listed(world)).toEqual([]);
    expect(world.scheduler.calls).toEqual([]);
  });

  it('ends the sequence without an email when the settings or their destination are gone', async () => {
    const world = await setup();
    await failingExport(world, ENV);
    await failingExport(world, ENV_B, 'Staging');
    world.settings.items.delete(ENV);
    const { destination: _gone, ...withoutDestination } = enabledSettings(ENV_B);
    await world.settings.put({ ...withoutDestination, version: 2 }, 1);

    const result = await world.service.check(F + HOUR);
    expect(result).toMatchObject({ examined: 2, emailsSent: [], stopped: [] });
    expect(world.mailer.attempts).toEqual([]);
    expect(await listed(world)).toEqual([]);
  });

  it('does nothing for a check as of an instant before failingSince', async () => {
    const world = await setup();
    await failingExport(world);
    const result = await world.service.check(F - 1);
    expect(result).toMatchObject({ examined: 1, emailsSent: [], stopped: [] });
    expect(world.failing.calls).toEqual([]);
    expect(world.mailer.attempts).toEqual([]);
    expect(await listed(world)).toEqual([ENV]);
  });

  it("goes on with the other exports when one export's check fails", async () => {
    const world = await setup();
    await failingExport(world, ENV, 'Production');
    await failingExport(world, ENV_B, 'Staging');
    world.failing.failNextClaimFor.add(ENV);

    const result = await world.service.check(F + HOUR);
    expect(result).toMatchObject({ examined: 2, emailsSent: [{ environmentId: ENV_B, email: 1 }], stopped: [] });
    expect(world.mailer.sent.map((m) => m.subject)).toEqual(['Automatic export for Staging is failing']);

    const next = await world.service.check(F + 2 * HOUR);
    expect(next.emailsSent).toEqual([{ environmentId: ENV, email: 1 }]);
  });

  it("goes on with the other exports when one export's email cannot be sent", async () => {
    const world = await setup();
    await failingExport(world, ENV, 'Production');
    await failingExport(world, ENV_B, 'Staging');
    world.mailer.failNext = 1;
    const result = await world.service.check(F + HOUR);
    expect(result.examined).toBe(2);
    expect(result.emailsSent).toHaveLength(1);
    expect(world.mailer.attempts).toHaveLength(2);
  });

  it('stops each export on its own clock', async () => {
    const world = await setup();
    await failingExport(world, ENV, 'Production', F);
    await failingExport(world, ENV_B, 'Staging', F + 30 * HOUR);
    const sent: { environmentId: string; email: number }[] = [];
    let last: FailureCheckResult | undefined;
    for (let hour = 0; hour <= 72; hour++) {
      last = await world.service.check(F + hour * HOUR);
      sent.push(...last.emailsSent);
    }
    expect(last!.stopped).toEqual([ENV]);
    expect(sent.filter((e) => e.environmentId === ENV).map((e) => e.email)).toEqual([1, 2, 3]);
    expect(sent.filter((e) => e.environmentId === ENV_B).map((e) => e.email)).toEqual([1, 2]);
    expect((await world.settings.get(ENV_B))!.enabled).toBe(true);
    expect(await listed(world)).toEqual([ENV_B]);
  });

  it('names the environment by its id when it is gone, and links its settings page', async () => {
    const world = await setup();
    await failingExport(world);
    world.tenants.environments.delete(ENV);
    await world.service.check(F + HOUR);
    expect(world.mailer.sent[0].subject).toBe(`Automatic export for ${ENV} is failing`);
  });
});

describe('transient failures past 24 h', () => {
  async function failingTransiently(world: World, environmentId: string, since: number) {
    await world.tenants.createEnvironment({
      id: environmentId,
      organizationId: ORG,
      name: environmentId,
      ingestKeyHash: `hash-${environmentId}`,
      ingestKeyPrefix: 'ik_',
      createdAt: 0,
    });
    await world.settings.put(enabledSettings(environmentId), 0);
    await world.settings.markReconciled(environmentId, 1);
    for (const at of [since, since + DAY]) {
      await world.runs.recordOutcome(environmentId, at - 60_000, {
        status: 'failed',
        finishedAt: at,
        durationMs: 60_000,
        error: 'The storage provider was temporarily unavailable.',
        errorCode: 'temporarily_unavailable',
        failureClass: 'transient',
      });
    }
  }

  it('reports the enabled exports failing transiently for more than 24 h for the alarm, and emails nobody', async () => {
    const world = await setup();
    await failingTransiently(world, ENV, F);
    await failingTransiently(world, ENV_B, F + 2 * HOUR);
    expect((await world.service.check(F + TRANSIENT_ALARM_AFTER_MS - 1)).failingTransiently).toEqual([]);
    expect((await world.service.check(F + TRANSIENT_ALARM_AFTER_MS + HOUR)).failingTransiently).toEqual([ENV]);
    expect((await world.service.check(F + TRANSIENT_ALARM_AFTER_MS + 2 * HOUR)).failingTransiently.sort()).toEqual(
      [ENV, ENV_B].sort(),
    );
    expect(world.mailer.attempts).toEqual([]);
  });

  it('ends a run of transient failures of an export switched off, which no run will end', async () => {
    const world = await setup();
    await failingTransiently(world, ENV, F);
    await world.settings.put({ ...enabledSettings(ENV), enabled: false, version: 2 }, 1);
    expect((await world.service.check(F + 2 * DAY)).failingTransiently).toEqual([]);
    expect((await world.runs.getStatus(ENV))?.transientSince).toBeUndefined();
  });

  it('stops reporting once a run succeeds or fails on the customer side', async () => {
    const world = await setup();
    await failingTransiently(world, ENV, F);
    await world.runs.recordOutcome(ENV, F + DAY + HOUR, {
      status: 'failed',
      finishedAt: F + DAY + 2 * HOUR,
      durationMs: 60_000,
      error: ERROR,
      errorCode: 'access_denied',
      failureClass: 'customer',
    });
    expect((await world.service.check(F + 2 * DAY)).failingTransiently).toEqual([]);
  });
});

describe('settingsPageUrl', () => {
  it('joins the dashboard URL without doubled slashes and encodes the environment id', () => {
    expect(settingsPageUrl('https://app.example.com//', 'env-1')).toBe(
      'https://app.example.com/environments/env-1/settings/data-export',
    );
    expect(settingsPageUrl('https://app.example.com', 'a/b c')).toBe(
      'https://app.example.com/environments/a%2Fb%20c/settings/data-export',
    );
  });
});

describe('failureEmail', () => {
  const url = 'https://app.example.com/environments/env-prod/settings/data-export?from=email&n=1';
  const context = (overrides: Partial<FailureEmailContext> = {}): FailureEmailContext => ({
    environmentName: 'Production',
    destination: {
      provider: 'GCP',
      bucket: 'acme-exports',
      region: 'auto',
      keyPrefix: 'exports/daily',
      endpoint: 'https://storage.googleapis.com',
    },
    errorCode: 'bucket_not_found',
    failingSince: F,
    stopAt: F + STOP_AFTER_MS,
    now: F + HOUR,
    settingsUrl: url,
    to: ['data@acme.example'],
    ...overrides,
  });

  it('email 1: subject, environment, bucket and folder, error, link, deadline in UTC and the time left', () => {
    const mail = failureEmail(1, context());
    expect(mail.to).toEqual(['data@acme.example']);
    expect(mail.subject).toBe('Automatic export for Production is failing');
    expect(mail.text).toBe(
      [
        'The automatic export of environment "Production" to the GCP bucket "acme-exports" (folder "exports/daily/") has been failing since 2026-03-10 00:01 UTC.',
        'The error: The bucket does not exist. Check its name and region, or create it.',
        `Fix the settings here: ${url}`,
        'If it is not fixed by 2026-03-13 00:01 UTC (2 days and 23 hours from now), the export will be stopped.',
      ].join('\n\n') + '\n',
    );
  });

  it('email 2: a reminder whose subject carries the deadline, with less time left', () => {
    const mail = failureEmail(2, context({ now: F + SECOND_EMAIL_AFTER_MS + 30 * 60_000 }));
    expect(mail.subject).toBe('Reminder: automatic export for Production still failing, stops 2026-03-13 00:01 UTC');
    expect(mail.text).toContain('(1 day and 23 hours from now)');
    expect(mail.text).toContain('The error: The bucket does not exist. Check its name and region, or create it.');
    expect(mail.text).toContain(`Fix the settings here: ${url}`);
  });

  it('email 3: says the export has been stopped, with the last error and the link, and no deadline', () => {
    const mail = failureEmail(3, context({ now: F + STOP_AFTER_MS }));
    expect(mail.subject).toBe('Automatic export stopped for Production');
    expect(mail.text).toContain('has failed since 2026-03-10 00:01 UTC and has now been stopped');
    expect(mail.text).toContain('The last error: The bucket does not exist. Check its name and region, or create it.');
    expect(mail.text).toContain(`enable the export again here: ${url}`);
    expect(mail.text).not.toContain('If it is not fixed by');
    expect(mail.text).not.toContain('from now');
  });

  it('names no folder for a destination at the bucket root', () => {
    const mail = failureEmail(
      1,
      context({ destination: { provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: '' } }),
    );
    expect(mail.text).toContain('to the AWS bucket "acme-exports" has been failing');
    expect(mail.text).not.toContain('folder');
  });

  it.each([1, 2, 3] as const)('email %i links the settings page in HTML with an <a href>', (number) => {
    const mail = failureEmail(number, context());
    const escapedUrl = url.replace(/&/g, '&amp;');
    expect(mail.html).toMatch(/^<!doctype html><html><body><p>.*<\/p><\/body><\/html>$/);
    expect(mail.html).toContain(`<a href="${escapedUrl}">${escapedUrl}</a>`);
    expect(mail.html.match(/<a /g)).toHaveLength(1);
  });

  it('escapes the environment name and the folder in HTML, and keeps them as typed in the text', () => {
    const mail = failureEmail(
      1,
      context({ environmentName: 'R&D <Prod>', destination: { ...context().destination!, keyPrefix: '<b>x</b>' } }),
    );
    expect(mail.html).toContain('environment &quot;R&amp;D &lt;Prod&gt;&quot;');
    expect(mail.html).toContain('(folder &quot;&lt;b&gt;x&lt;/b&gt;/&quot;)');
    expect(mail.html).not.toContain('<Prod>');
    expect(mail.html).not.toContain('<b>');
    expect(mail.text).toContain('environment "R&D <Prod>"');
    expect(mail.subject).toBe('Automatic export for R&D <Prod> is failing');
  });

  it.each([
    ['invalid_credentials', /does not accept the access key/],
    ['access_denied', /refused access: the key may not list and write objects/],
    ['bucket_not_found', /The bucket does not exist/],
    ['wrong_region', /not in the region/],
    ['endpoint_unreachable', /could not be reached/],
    ['destination_rejected', /rejected the upload/],
    ['endpoint_not_allowed', /not allowed/],
    ['something_new', /refused the export\. Check the destination settings/],
    [undefined, /refused the export\. Check the destination settings/],
    ['constructor', /refused the export\. Check the destination settings/],
  ])('words the error class %s in its own words', (errorCode, wording) => {
    const errorParagraph = failureEmail(1, context({ errorCode }))
      .text.split('\n\n')
      .find((p) => p.startsWith('The error: '));
    expect(errorParagraph).toMatch(wording);
  });

  it('shortens a 1,024-character folder and a long environment name to 80 characters with an ellipsis, on one line', () => {
    const keyPrefix = Array.from({ length: 130 }, (_, i) => `seg${String(i).padStart(3, '0')}x`)
      .join('/')
      .slice(0, 1024);
    const environmentName = `Production\r\nBcc: victim@example.com ${'é'.repeat(100)}`;
    const mail = failureEmail(2, context({ environmentName, destination: { ...context().destination!, keyPrefix } }));
    expect(keyPrefix).toHaveLength(1024);
    expect(mail.text).not.toContain(keyPrefix.slice(0, 81));
    expect(mail.text).toContain(`(folder "${keyPrefix.slice(0, 79)}…")`);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).toContain(
      `for Production Bcc: victim@example.com ${'é'.repeat(80 - 'Production Bcc: victim@example.com '.length - 1)}… still failing`,
    );
    expect(mail.to).toEqual(['data@acme.example']);
  });

  it.each([
    ['72 h', '3 days and 0 hours', 72 * HOUR],
    ['71 h 59 min', '2 days and 23 hours', 71 * HOUR + 59 * 60_000],
    ['49 h', '2 days and 1 hour', 49 * HOUR],
    ['48 h', '2 days and 0 hours', 48 * HOUR],
    ['47 h', '1 day and 23 hours', 47 * HOUR],
    ['25 h', '1 day and 1 hour', 25 * HOUR],
    ['24 h', '1 day and 0 hours', 24 * HOUR],
    ['23 h 59 min', '23 hours', 23 * HOUR + 59 * 60_000],
    ['2 h', '2 hours', 2 * HOUR],
    ['1 h', '1 hour', HOUR],
    ['30 min', '0 hours', 30 * 60_000],
    ['-1 h (past the stop)', '0 hours', -HOUR],
  ])('words the time left, %s before the stop, as "%s"', (_label, words, left) => {
    const stopAt = F + STOP_AFTER_MS;
    expect(failureEmail(2, context({ stopAt, now: stopAt - left })).text).toContain(`(${words} from now)`);
  });
});
