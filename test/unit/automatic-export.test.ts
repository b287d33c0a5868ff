/**
 * AutomaticExportService against in-memory fakes of its ports: the branches the end-to-end tests do
 * not reach (plan and tenancy refusals, validation and scheduler failures, secrets, claims, error
 * classes of a run, status labels).
 */
import type { Caller } from '../../lambdas/core/access';
import { AutomaticExportService, RetryableRunError, StaleSettingsError } from '../../lambdas/core/automatic-export';
import { DestinationValidationError, type SettingsInput } from '../../lambdas/core/destination-input';
import { ScheduleReconciler } from '../../lambdas/core/schedule-reconcile';
import {
  AccessDeniedError,
  BucketNotFoundError,
  DestinationRejectedError,
  InvalidCredentialsError,
  TransientDestinationError,
} from '../../lambdas/core/destination';
import {
  ConflictError,
  INTERNAL_FAILURE_MESSAGE,
  NotFoundError,
  PlanRequiredError,
  UnauthorizedError,
  ValidationError,
} from '../../lambdas/core/errors';
import { SealingKeyUnavailableError, SecretUnsealError } from '../../lambdas/adapters/sealing-errors';
import { ConfigurationError } from '../../lambdas/config';
import { logger } from '../../lambdas/core/log';
import { DAY_MS, type Plan } from '../../lambdas/core/model';
import {
  FakeClock,
  FakeDestinationGateway,
  FakeExportRunStore,
  FakeFailingExportsStore,
  FakeScheduler,
  FakeSealer,
  FakeSettingsStore,
  FakeTenantStore,
  FakeUsageStore,
} from '../support/fakes';

const ms = (iso: string): number => Date.parse(iso);
const MINUTE = 60_000;

const ORG = 'org-acme';
const ENV = 'env-prod';
const OTHER_ORG = 'org-other';
const OTHER_ENV = 'env-other';
const member: Caller = { organizationId: ORG, role: 'member' };
const GENERIC_FAILURE = 'The export failed on our side. It will be retried automatically.';
const TIME_LIMIT_MESSAGE =
  'The export did not finish within its time limit: the storage provider stopped responding or was too slow. It will be retried automatically.';

const awsInput: SettingsInput = {
  enabled: true,
  cadence: 'daily',
  provider: 'AWS',
  bucketUrl: 'https://acme-exports.s3.eu-west-1.amazonaws.com/daily',
  accessKeyId: 'AKIAEXAMPLE00001234',
  secretAccessKey: 'first-secret',
  notifyEmails: ['data@acme.example'],
};

async function setup(plan: Plan = 'enterprise') {
  const tenants = new FakeTenantStore();
  const usage = new FakeUsageStore();
  const settings = new FakeSettingsStore();
  const runs = new FakeExportRunStore();
  const failing = new FakeFailingExportsStore(runs);
  const sealer = new FakeSealer();
  const gateway = new FakeDestinationGateway();
  const scheduler = new FakeScheduler();
  const clock = new FakeClock(ms('2026-03-10T13:00:00Z'));
  await tenants.createOrganization({ id: ORG, name: 'Acme', plan, createdAt: 0 });
  await tenants.createOrganization({ id: OTHER_ORG, name: 'Other', plan: 'enterprise', createdAt: 0 });
  await tenants.createEnvironment({
    id: ENV,
    organizationId: ORG,
    name: 'Production',
    ingestKeyHash: 'hash-1',
    ingestKeyPrefix: 'ik-1',
    createdAt: 0,
  });
  await tenants.createEnvironment({
    id: OTHER_ENV,
    organizationId: OTHER_ORG,
    name: 'Theirs',
    ingestKeyHash: 'hash-2',
    ingestKeyPrefix: 'ik-2',
    createdAt: 0,
  });
  const service = new AutomaticExportService({ tenants, usage, settings, runs, sealer, gateway, scheduler, clock });
  return { service, tenants, usage, settings, runs, failing, sealer, gateway, scheduler, clock };
}

type World = Awaited<ReturnType<typeof setup>>;

/** An environment with automatic export enabled through the service, its calls then forgotten. */
async function enabled(input: Partial<SettingsInput> = {}, plan: Plan = 'enterprise'): Promise<World> {
  const world = await setup(plan);
  await world.service.putSettings(member, ENV, { ...awsInput, ...input });
  world.gateway.validations.length = 0;
  world.scheduler.calls.length = 0;
  return world;
}

/** A save based on the settings as stored now, as from a dashboard that has just read them. */
async function saveAsRead(world: Pick<World, 'service' | 'settings'>, input: SettingsInput) {
  return world.service.putSettings(member, ENV, { ...input, version: (await world.settings.get(ENV))?.version ?? 0 });
}

/** One company using one feature, so a run writes one data row. */
async function withOneCompany(world: World) {
  await world.tenants.putFeature(ENV, {
    id: 'reports',
    key: 'report_run',
    name: 'Reports',
    adoption: { minActiveDays: 5, windowDays: 28 },
  });
  const firstSeen = ms('2026-02-01T10:00:00Z');
  await world.usage.putCompanyUsage(ENV, {
    company: {
      companyId: 'c-1',
      name: 'Initech',
      attributes: {},
      firstSeen,
      seenDays: new Map([[Math.floor(firstSeen / DAY_MS), firstSeen]]),
    },
    usage: [
      {
        eventKey: 'report_run',
        firstUsed: firstSeen,
        usedDays: new Map([[Math.floor(firstSeen / DAY_MS), firstSeen]]),
        feedback: [],
      },
    ],
  });
}

describe('putSettings', () => {
  it.each<Plan>(['pro', 'free'])(
    'refuses the %s plan with PlanRequiredError naming enterprise, touching nothing',
    async (plan) => {
      const { service, settings, gateway, scheduler } = await setup(plan);
      const refused = service.putSettings(member, ENV, awsInput);
      await expect(refused).rejects.toBeInstanceOf(PlanRequiredError);
      await expect(refused).rejects.toMatchObject({ requiredPlans: ['enterprise'], currentPlan: plan });
      expect(settings.puts).toBe(0);
      expect(gateway.validations).toHaveLength(0);
      expect(scheduler.calls).toHaveLength(0);
    },
  );

  it("answers NotFoundError for another organization's environment and for an unknown one", async () => {
    const { service, settings } = await setup();
    await expect(service.putSettings(member, OTHER_ENV, awsInput)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.putSettings(member, 'env-missing', awsInput)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.getSettings(member, OTHER_ENV)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.getStatus(member, OTHER_ENV)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.history(member, OTHER_ENV, 10)).rejects.toBeInstanceOf(NotFoundError);
    expect(settings.puts).toBe(0);
  });

  it('answers UnauthorizedError without a caller', async () => {
    const { service } = await setup();
    await expect(service.putSettings(undefined, ENV, awsInput)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('validates through the gateway with the plaintext secret, seals it, schedules and masks the key', async () => {
    const { service, settings, gateway, scheduler, sealer } = await setup();
    const view = await service.putSettings(member, ENV, { ...awsInput, cadence: 'weekly' });

    expect(gateway.validations).toEqual([
      {
        destination: { provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: 'daily' },
        credentials: { accessKeyId: 'AKIAEXAMPLE00001234', secretAccessKey: 'first-secret' },
      },
    ]);
    const stored = (await settings.get(ENV))!;
    expect(stored.sealedSecretAccessKey).not.toContain('first-secret');
    expect(await sealer.unseal(stored.sealedSecretAccessKey!, { environmentId: ENV })).toBe('first-secret');
    expect(scheduler.calls).toEqual([{ op: 'upsert', environmentId: ENV, cadence: 'weekly' }]);
    expect(view).toMatchObject({
      enabled: true,
      cadence: 'weekly',
      accessKeyId: '***************1234',
      secretAccessKeySet: true,
      key: 'daily',
    });
    expect(JSON.stringify(view)).not.toContain('first-secret');
  });

  it('lists every missing field when enabling without them', async () => {
    const { service, settings } = await setup();
    const refused = service.putSettings(member, ENV, { enabled: true });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    const error = (await refused.catch((e: unknown) => e)) as ValidationError;
    expect(error.issues.map((i) => i.path)).toEqual(['provider', 'accessKeyId', 'secretAccessKey', 'notifyEmails']);
    expect(settings.puts).toBe(0);
  });

  it.each([
    ['provider', { provider: undefined, bucketUrl: undefined }],
    ['accessKeyId', { accessKeyId: undefined }],
    ['notifyEmails', { notifyEmails: [] }],
  ])('refuses enabling without %s alone, validating and saving nothing', async (path, without) => {
    const { service, settings, gateway } = await setup();
    const refused = service.putSettings(member, ENV, { ...awsInput, ...without });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({ message: `Automatic export needs ${path}.`, issues: [{ path }] });
    expect(gateway.validations).toHaveLength(0);
    expect(settings.puts).toBe(0);
  });

  it('saves a first, disabled save of nothing but the switch with the defaults', async () => {
    const { service, settings } = await setup();
    const view = await service.putSettings(member, ENV, { enabled: false });
    expect(view).toMatchObject({
      enabled: false,
      cadence: 'daily',
      provider: null,
      bucketUrl: null,
      accessKeyId: null,
      secretAccessKeySet: false,
      notifyEmails: [],
      stoppedAt: null,
      stoppedReason: null,
      version: 1,
    });
    expect(await settings.get(ENV)).toEqual({
      environmentId: ENV,
      enabled: false,
      cadence: 'daily',
      notifyEmails: [],
      updatedAt: ms('2026-03-10T13:00:00Z'),
      version: 1,
    });
  });

  it('refuses a first save with an access key id but no secret, on secretAccessKey, even disabled', async () => {
    const { service, settings } = await setup();
    const refused = service.putSettings(member, ENV, { enabled: false, accessKeyId: 'AKIANEW000005678' });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({ issues: [{ path: 'secretAccessKey' }] });
    expect(settings.puts).toBe(0);
  });

  it('refuses a stale save before validating the destination or sealing its secret', async () => {
    const { service, settings, gateway, sealer } = await enabled();
    const seal = jest.spyOn(sealer, 'seal');
    await expect(service.putSettings(member, ENV, { ...awsInput, version: 0 })).rejects.toMatchObject({
      name: 'StaleSettingsError',
      currentVersion: 1,
    });
    expect(gateway.validations).toHaveLength(0);
    expect(seal).not.toHaveBeenCalled();
    expect(settings.puts).toBe(1);
  });

  it.each([
    ['invalid credentials', new InvalidCredentialsError()],
    ['access denied', new AccessDeniedError('acme-exports', 'daily')],
    ['a missing bucket', new BucketNotFoundError('acme-exports')],
    ['a rejection', new DestinationRejectedError('HTTP 405')],
  ])(
    'turns %s at validation into DestinationValidationError, saving nothing and leaving the schedule',
    async (_label, destinationError) => {
      const { service, settings, gateway, scheduler } = await setup();
      gateway.validateError = destinationError;
      const refused = service.putSettings(member, ENV, awsInput);
      await expect(refused).rejects.toBeInstanceOf(DestinationValidationError);
      const error = (await refused.catch((e: unknown) => e)) as DestinationValidationError;
      expect(error.destinationError).toBe(destinationError);
      expect(error.message).toBe(destinationError.message);
      expect(settings.puts).toBe(0);
      expect(await settings.get(ENV)).toBeUndefined();
      expect(scheduler.calls).toEqual([]);
    },
  );

  it('keeps the saved settings as they were when a changed destination fails validation', async () => {
    const { service, settings, gateway, scheduler } = await enabled();
    const before = await settings.get(ENV);
    gateway.validateError = new BucketNotFoundError('typo-bucket');
    await expect(
      saveAsRead(
        { service, settings },
        { enabled: true, provider: 'AWS', bucketUrl: 'https://typo-bucket.s3.eu-west-1.amazonaws.com' },
      ),
    ).rejects.toBeInstanceOf(DestinationValidationError);
    expect(await settings.get(ENV)).toEqual(before);
    expect(scheduler.calls).toEqual([]);
  });

  it('passes on an error of the gateway that is not a DestinationError unchanged', async () => {
    const { service, settings, gateway } = await setup();
    const bug = new TypeError('gateway bug');
    gateway.validateError = bug;
    await expect(service.putSettings(member, ENV, awsInput)).rejects.toBe(bug);
    expect(settings.puts).toBe(0);
  });

  it('keeps the stored sealed secret when a save leaves the secret out, and validates with it', async () => {
    const { service, settings, gateway } = await enabled();
    const sealedBefore = (await settings.get(ENV))!.sealedSecretAccessKey;
    const { secretAccessKey: _secret, ...withoutSecret } = awsInput;
    await saveAsRead({ service, settings }, { ...withoutSecret, cadence: 'weekly' });

    const stored = (await settings.get(ENV))!;
    expect(stored.sealedSecretAccessKey).toBe(sealedBefore);
    expect(stored.cadence).toBe('weekly');
    expect(gateway.validations[0].credentials).toEqual({
      accessKeyId: awsInput.accessKeyId,
      secretAccessKey: 'first-secret',
    });
  });

  it('seals a new secret sent with a new access key id', async () => {
    const { service, settings, sealer } = await enabled();
    await saveAsRead(
      { service, settings },
      { enabled: true, accessKeyId: 'AKIANEW000005678', secretAccessKey: 'second-secret' },
    );
    const stored = (await settings.get(ENV))!;
    expect(stored.accessKeyId).toBe('AKIANEW000005678');
    expect(await sealer.unseal(stored.sealedSecretAccessKey!, { environmentId: ENV })).toBe('second-secret');
  });

  it('refuses a new access key id without its secret, on secretAccessKey, before validating', async () => {
    const { service, settings, gateway } = await enabled();
    const before = await settings.get(ENV);
    const refused = saveAsRead({ service, settings }, { enabled: true, accessKeyId: 'AKIANEW000005678' });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({ issues: [{ path: 'secretAccessKey' }] });
    expect(gateway.validations).toHaveLength(0);
    expect(await settings.get(ENV)).toEqual(before);
  });

  it('disables without validating (the destination may be broken), removes the schedule and keeps the destination', async () => {
    const { service, settings, gateway, scheduler } = await enabled();
    gateway.validateError = new AccessDeniedError('acme-exports', 'daily');
    const view = await saveAsRead({ service, settings }, { enabled: false });
    expect(view.enabled).toBe(false);
    expect(gateway.validations).toHaveLength(0);
    expect(scheduler.calls).toEqual([{ op: 'remove', environmentId: ENV }]);
    expect(scheduler.schedules.has(ENV)).toBe(false);
    const stored = (await settings.get(ENV))!;
    expect(stored.enabled).toBe(false);
    expect(stored.destination?.bucket).toBe('acme-exports');
    expect(stored.sealedSecretAccessKey).toBeDefined();
  });

  it('saves the settings first and leaves them marked unreconciled when the scheduler fails; the next reconcile catches up', async () => {
    const { service, settings, scheduler } = await setup();
    scheduler.error = new Error('Scheduler throttled');
    const view = await service.putSettings(member, ENV, awsInput);
    expect(view).toMatchObject({ enabled: true, version: 1 });
    expect((await settings.get(ENV))!.enabled).toBe(true);
    expect(scheduler.schedules.has(ENV)).toBe(false);
    expect([...settings.unreconciled]).toEqual([ENV]);

    scheduler.error = undefined;
    expect(await new ScheduleReconciler({ settings, scheduler }).reconcilePending()).toEqual({
      reconciled: [ENV],
      failed: [],
    });
    expect(scheduler.schedules.get(ENV)).toBe('daily');
    expect([...settings.unreconciled]).toEqual([]);
  });

  it('warns the operators when the schedule could not be reconciled after a save', async () => {
    const { service, scheduler } = await setup();
    const throttled = new Error('Scheduler throttled');
    scheduler.error = throttled;
    const warned = jest.spyOn(logger, 'warn').mockImplementation(() => {});
    await service.putSettings(member, ENV, awsInput);
    expect(warned).toHaveBeenCalledWith('Schedule not reconciled after a save; the hourly check will', {
      environmentId: ENV,
      error: throttled,
    });
    warned.mockRestore();
  });

  it('reconciles the schedule after the write, from the saved settings, and unmarks them', async () => {
    const { service, settings, scheduler } = await enabled();
    await saveAsRead({ service, settings }, { enabled: true, cadence: 'weekly' });
    expect(scheduler.calls).toEqual([{ op: 'upsert', environmentId: ENV, cadence: 'weekly' }]);
    await saveAsRead({ service, settings }, { enabled: false });
    expect(scheduler.calls.at(-1)).toEqual({ op: 'remove', environmentId: ENV });
    expect(settings.unreconciled.size).toBe(0);
  });

  it('touches no schedule when the settings write fails', async () => {
    const { service, settings, scheduler } = await enabled();
    settings.putError = new Error('DynamoDB unavailable');
    await expect(saveAsRead({ service, settings }, { enabled: false })).rejects.toThrow('DynamoDB unavailable');
    expect(scheduler.calls).toEqual([]);
    expect(scheduler.schedules.get(ENV)).toBe('daily');
  });

  it('answers each save with the new version, and refuses a save based on an older one with StaleSettingsError', async () => {
    const { service, settings, scheduler } = await setup();
    expect((await service.getSettings(member, ENV)).version).toBe(0);
    expect((await service.putSettings(member, ENV, awsInput)).version).toBe(1);
    expect((await service.getSettings(member, ENV)).version).toBe(1);
    expect((await service.putSettings(member, ENV, { enabled: true, cadence: 'weekly', version: 1 })).version).toBe(2);

    const stale = service.putSettings(member, ENV, { enabled: false, version: 1 });
    await expect(stale).rejects.toBeInstanceOf(StaleSettingsError);
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toThrow('Reload them');
    // Without a version a save only creates: these settings exist.
    await expect(service.putSettings(member, ENV, { enabled: false })).rejects.toBeInstanceOf(StaleSettingsError);
    expect(await settings.get(ENV)).toMatchObject({ enabled: true, cadence: 'weekly', version: 2 });
    expect(scheduler.schedules.get(ENV)).toBe('weekly');
  });

  it('refuses a version for settings never saved, saying to send 0', async () => {
    const { service, settings } = await setup();
    await expect(service.putSettings(member, ENV, { ...awsInput, version: 3 })).rejects.toThrow('send version 0');
    expect(settings.puts).toBe(0);
  });

  it('refuses a save that loses the race at the conditional write, without touching the schedule', async () => {
    const { service, settings, scheduler, gateway } = await enabled();
    // Another save lands while this one validates the destination.
    const validate = gateway.validate.bind(gateway);
    gateway.validate = async (destination, credentials) => {
      await settings.put({ ...(await settings.get(ENV))!, cadence: 'weekly', version: 2 }, 1);
      return validate(destination, credentials);
    };
    await expect(saveAsRead({ service, settings }, { enabled: true, cadence: 'daily' })).rejects.toThrow('version 2');
    expect((await settings.get(ENV))!.cadence).toBe('weekly');
    expect(scheduler.calls).toEqual([]);
  });

  it('ends the failure sequence on a successful enabling save, but not on a failed one or on disabling', async () => {
    const { service, settings, runs, failing, gateway } = await enabled();
    const failingSince = ms('2026-03-10T00:01:00Z');
    runs.seedFailing(ENV, failingSince, 'Access denied', [1]);

    gateway.validateError = new AccessDeniedError('acme-exports', 'daily');
    await expect(saveAsRead({ service, settings }, { enabled: true })).rejects.toBeInstanceOf(
      DestinationValidationError,
    );
    expect((await runs.getStatus(ENV))?.failingSince).toBe(failingSince);

    await saveAsRead({ service, settings }, { enabled: false });
    expect((await runs.getStatus(ENV))?.failingSince).toBe(failingSince);

    gateway.validateError = undefined;
    await saveAsRead({ service, settings }, { enabled: true });
    const status = await runs.getStatus(ENV);
    expect(status?.failingSince).toBeUndefined();
    expect(status?.emailsSent).toBeUndefined();
    const listed = [];
    for await (const item of failing.listFailing()) listed.push(item);
    expect(listed).toEqual([]);
  });

  it('lets a downgraded organization switch automatic export off, but not on', async () => {
    const { service, tenants, scheduler, settings } = await enabled();
    await tenants.updateOrganizationPlan(ORG, 'pro');
    await expect(saveAsRead({ service, settings }, { enabled: true })).rejects.toBeInstanceOf(PlanRequiredError);
    await saveAsRead({ service, settings }, { enabled: false });
    expect(scheduler.calls).toEqual([{ op: 'remove', environmentId: ENV }]);
    expect((await settings.get(ENV))!.enabled).toBe(false);
  });

  it('keeps a stopped export reported as stopped when a save leaves it disabled', async () => {
    const { service, settings } = await enabled();
    const stoppedAt = ms('2026-03-09T00:00:00Z');
    await settings.stop(ENV, (await settings.get(ENV))!.version, stoppedAt, 'Stopped after failing for 72 hours.');
    const view = await saveAsRead({ service, settings }, { enabled: false, notifyEmails: ['new@acme.example'] });
    expect(view).toMatchObject({
      enabled: false,
      notifyEmails: ['new@acme.example'],
      stoppedAt: '2026-03-09T00:00:00.000Z',
      stoppedReason: 'Stopped after failing for 72 hours.',
    });
    expect((await service.getStatus(member, ENV)).status).toBe('stopped');
  });

  it('clears stoppedAt and stoppedReason when the customer saves again', async () => {
    const { service, settings } = await enabled();
    const stored = (await settings.get(ENV))!;
    await settings.stop(ENV, stored.version, ms('2026-03-09T00:00:00Z'), 'Stopped after failing for 72 hours.');
    const view = await saveAsRead({ service, settings }, { enabled: true });
    expect(view).toMatchObject({ enabled: true, stoppedAt: null, stoppedReason: null });
    expect((await settings.get(ENV))!.stoppedAt).toBeUndefined();
  });
});

describe('runScheduled', () => {
  it('skips an environment without settings or with automatic export off, claiming nothing', async () => {
    const fresh = await setup();
    expect(await fresh.service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'))).toEqual({
      outcome: 'skipped',
      reason: 'not enabled',
    });

    const { service, settings, runs } = await enabled();
    await saveAsRead({ service, settings }, { enabled: false });
    expect(await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'))).toEqual({
      outcome: 'skipped',
      reason: 'not enabled',
    });
    expect(runs.claims).toHaveLength(0);
  });

  it('skips the run of an organization downgraded since it was enabled, claiming and writing nothing', async () => {
    const { service, tenants, runs, gateway } = await enabled();
    await tenants.updateOrganizationPlan(ORG, 'pro');
    expect(await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'))).toEqual({
      outcome: 'skipped',
      reason: 'plan does not include it',
    });
    expect(runs.claims).toHaveLength(0);
    expect(gateway.objects).toHaveLength(0);
  });

  it('skips an environment deleted since it was enabled, claiming nothing', async () => {
    const { service, tenants, runs } = await enabled();
    tenants.environments.delete(ENV);
    expect(await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'))).toEqual({
      outcome: 'skipped',
      reason: 'plan does not include it',
    });
    expect(runs.claims).toHaveLength(0);
  });

  it('names the file after the environment id when the environment is deleted while the run starts', async () => {
    const { service, tenants, gateway } = await enabled();
    const getOrganization = tenants.getOrganization.bind(tenants);
    // Deleted right after the plan check read it.
    jest.spyOn(tenants, 'getOrganization').mockImplementation(async (id) => {
      tenants.environments.delete(ENV);
      return getOrganization(id);
    });
    const result = await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    expect(result).toMatchObject({ outcome: 'successful' });
    expect(gateway.objects.map((o) => o.key)).toEqual([`daily/${ENV}/env-prod_daily_2026-03-09.csv`]);
  });

  it.each(['destination', 'accessKeyId', 'sealedSecretAccessKey'] as const)(
    'skips enabled settings stored without %s as not enabled, claiming nothing',
    async (field) => {
      const { service, settings, runs, gateway } = await enabled();
      const stored = (await settings.get(ENV))!;
      settings.items.set(ENV, { ...stored, [field]: undefined });
      expect(await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'))).toEqual({
        outcome: 'skipped',
        reason: 'not enabled',
      });
      expect(runs.claims).toHaveLength(0);
      expect(gateway.objects).toHaveLength(0);
    },
  );

  it("exports the daily snapshot as of that day's 00:00 UTC into the bucket under its key prefix", async () => {
    const world = await enabled();
    await withOneCompany(world);
    world.clock.set(ms('2026-03-12T09:00:00Z'));
    const result = await world.service.runScheduled(ENV, ms('2026-03-10T00:04:59Z'));

    expect(result).toMatchObject({ outcome: 'successful', snapshotAt: ms('2026-03-10T00:00:00Z'), rowCount: 1 });
    expect(world.gateway.objects).toHaveLength(1);
    const [object] = world.gateway.objects;
    expect(object.key).toBe(`daily/${ENV}/production_daily_2026-03-09.csv`);
    expect(result).toMatchObject({ objectKey: object.key, byteCount: Buffer.byteLength(object.body) });
    expect(object.credentials).toEqual({ accessKeyId: awsInput.accessKeyId, secretAccessKey: 'first-secret' });
    expect(object.body.split('\n')[0]).toMatch(/^Company ID,Company Name,Feature Name/);
    expect(object.body).toContain('c-1,Initech,Reports,reports,2026-03-09');
    expect((await world.runs.history(ENV, 1))[0]).toMatchObject({
      status: 'successful',
      snapshotAt: ms('2026-03-10T00:00:00Z'),
      rowCount: 1,
      attempts: 1,
    });
  });

  it.each([
    ['a Wednesday', '2026-03-11T05:00:00Z', '2026-03-09T00:00:00Z'],
    ['the Monday at 00:00', '2026-03-09T00:00:00Z', '2026-03-09T00:00:00Z'],
    ['the Sunday before, 23:59', '2026-03-08T23:59:59Z', '2026-03-02T00:00:00Z'],
  ])(
    'exports the weekly snapshot as of the Monday 00:00 on or before the schedule time (%s)',
    async (_label, scheduled, monday) => {
      const { service, gateway } = await enabled({ cadence: 'weekly' });
      const result = await service.runScheduled(ENV, ms(scheduled));
      expect(result).toMatchObject({ outcome: 'successful', snapshotAt: ms(monday) });
      const sunday = new Date(ms(monday) - DAY_MS).toISOString().slice(0, 10);
      expect(gateway.objects[0].key).toBe(`daily/${ENV}/production_weekly_${sunday}.csv`);
    },
  );

  it("skips a second run of a snapshot that succeeded as 'already ran', writing nothing", async () => {
    const { service, gateway, runs } = await enabled();
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    expect(await service.runScheduled(ENV, ms('2026-03-10T00:09:00Z'))).toEqual({
      outcome: 'skipped',
      reason: 'already ran',
    });
    expect(gateway.objects).toHaveLength(1);
    expect(await runs.history(ENV, 10)).toHaveLength(1);
  });

  it('skips a snapshot another invocation is still running, but takes over one whose deadline has passed', async () => {
    const { service, runs, clock, gateway } = await enabled();
    const snapshotAt = ms('2026-03-10T00:00:00Z');
    const startedAt = clock.now() - 5 * MINUTE;
    const running = {
      environmentId: ENV,
      snapshotAt,
      cadence: 'daily' as const,
      status: 'running' as const,
      attempts: 1,
      startedAt,
      claimId: 'another-invocation',
    };

    await runs.claim({ ...running, deadlineAt: clock.now() + MINUTE });
    expect(await service.runScheduled(ENV, snapshotAt)).toEqual({ outcome: 'skipped', reason: 'already ran' });
    expect(gateway.objects).toHaveLength(0);

    runs.runs.get(ENV)!.get(snapshotAt)!.deadlineAt = clock.now() - 1;
    expect(await service.runScheduled(ENV, snapshotAt)).toMatchObject({ outcome: 'successful' });
    expect(gateway.objects).toHaveLength(1);
    expect((await runs.history(ENV, 1))[0]).toMatchObject({ status: 'successful', attempts: 2 });
  });

  it('claims a run until startedAt + its time limit (14.5 minutes by default)', async () => {
    const { service, runs, clock } = await enabled();
    const firstStart = ms('2026-03-10T00:03:00Z');
    clock.set(firstStart);
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    clock.set(ms('2026-03-11T00:03:00Z'));
    await service.runScheduled(ENV, ms('2026-03-11T00:00:00Z'), { timeLimitMs: 60_000 });

    expect(runs.claims.map(({ run }) => run.deadlineAt)).toEqual([firstStart + 14.5 * MINUTE, clock.now() + MINUTE]);
  });

  it('cuts a stalled upload at the time limit and records a transient failure phrased for the customer', async () => {
    const world = await enabled();
    await withOneCompany(world);
    world.gateway.stallWrites = true;

    const run = world.service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'), { timeLimitMs: 50 });

    await expect(run).rejects.toBeInstanceOf(RetryableRunError);
    await expect(run).rejects.toThrow(TIME_LIMIT_MESSAGE);
    expect(world.gateway.objects).toEqual([]);
    expect((await world.runs.history(ENV, 1))[0]).toMatchObject({
      status: 'failed',
      error: TIME_LIMIT_MESSAGE,
      errorCode: 'time_limit_exceeded',
    });
    expect(await world.runs.getStatus(ENV)).toMatchObject({
      lastStatus: 'failed',
      lastErrorCode: 'time_limit_exceeded',
    });
    expect((await world.runs.getStatus(ENV))?.failingSince).toBeUndefined();
  });

  it('leaves the outcome to the run that took over: a lost run finishing late records nothing', async () => {
    const { service, runs, gateway, clock } = await enabled();
    const snapshotAt = ms('2026-03-10T00:00:00Z');
    gateway.onWrite = () => {
      // While the first run writes, its deadline passes and a retry takes its claim over.
      clock.advance(15 * MINUTE);
      const retry = {
        environmentId: ENV,
        snapshotAt,
        cadence: 'daily' as const,
        status: 'running' as const,
        attempts: 2,
        claimId: 'the-retry',
      };
      void runs.claim({ ...retry, startedAt: clock.now(), deadlineAt: clock.now() + 10 * MINUTE });
    };
    gateway.writeError = new TransientDestinationError();

    await expect(service.runScheduled(ENV, snapshotAt, { timeLimitMs: 10 * MINUTE })).rejects.toBeInstanceOf(
      RetryableRunError,
    );

    expect(runs.claims.map(({ claimed }) => claimed)).toEqual([true, true]);
    expect(await runs.getRun(ENV, snapshotAt)).toMatchObject({ status: 'running', attempts: 2 });
    expect(await runs.getStatus(ENV)).toBeUndefined();
  });

  it('counts attempts per snapshot across retries after failures, starting again at 1 for the next snapshot', async () => {
    const { service, runs, gateway } = await enabled();
    const day = ms('2026-03-10T00:00:00Z');
    gateway.writeError = new AccessDeniedError('acme-exports', 'daily');
    await service.runScheduled(ENV, day);
    gateway.writeError = new TransientDestinationError();
    await expect(service.runScheduled(ENV, day)).rejects.toBeInstanceOf(RetryableRunError);
    expect((await runs.history(ENV, 1))[0]).toMatchObject({ snapshotAt: day, status: 'failed', attempts: 2 });

    gateway.writeError = undefined;
    await service.runScheduled(ENV, day);
    expect((await runs.history(ENV, 1))[0]).toMatchObject({ snapshotAt: day, status: 'successful', attempts: 3 });

    await service.runScheduled(ENV, day + DAY_MS);
    expect((await runs.history(ENV, 1))[0]).toMatchObject({ snapshotAt: day + DAY_MS, attempts: 1 });
  });

  it("counts a late retry's attempts on its own snapshot, not on the newest run", async () => {
    const { service, runs, gateway } = await enabled();
    const day = ms('2026-03-20T00:00:00Z');
    gateway.writeError = new TransientDestinationError();
    await expect(service.runScheduled(ENV, day)).rejects.toBeInstanceOf(RetryableRunError);
    gateway.writeError = undefined;
    await service.runScheduled(ENV, day + DAY_MS);
    await service.runScheduled(ENV, day);
    expect(await runs.getRun(ENV, day)).toMatchObject({ status: 'successful', attempts: 2 });
    expect(await runs.getRun(ENV, day + DAY_MS)).toMatchObject({ attempts: 1 });
  });

  it('records a customer-side failure as a failed outcome, without throwing, and starts the failure sequence', async () => {
    const { service, runs, gateway, clock } = await enabled();
    const denied = new AccessDeniedError('acme-exports', 'daily');
    gateway.writeError = denied;
    const result = await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));

    expect(result).toEqual({
      outcome: 'failed',
      snapshotAt: ms('2026-03-10T00:00:00Z'),
      error: denied.message,
      errorCode: 'access_denied',
      failureClass: 'customer',
    });
    expect((await runs.history(ENV, 1))[0]).toMatchObject({
      status: 'failed',
      error: denied.message,
      errorCode: 'access_denied',
    });
    expect(await runs.getStatus(ENV)).toMatchObject({
      lastStatus: 'failed',
      lastError: denied.message,
      lastErrorCode: 'access_denied',
      failingSince: clock.now(),
    });
  });

  it.each([
    ['a secret that cannot be unsealed', new SecretUnsealError('KMS refused the sealed secret.')],
    [
      'a sealing key that may not be used',
      new SealingKeyUnavailableError('The sealing key may not be used (AccessDeniedException).'),
    ],
    ['a configuration error', new ConfigurationError('Missing configuration.')],
  ])(
    'records %s as an internal failure: not retried, a customer-safe message, no email sequence',
    async (_name, internal) => {
      const { service, runs, sealer } = await enabled();
      sealer.unseal = () => Promise.reject(internal);
      const result = await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));

      expect(result).toEqual({
        outcome: 'failed',
        snapshotAt: ms('2026-03-10T00:00:00Z'),
        error: INTERNAL_FAILURE_MESSAGE,
        errorCode: 'internal_error',
        failureClass: 'internal',
      });
      expect(INTERNAL_FAILURE_MESSAGE).toMatch(/our team has been alerted/i);
      expect((await runs.history(ENV, 1))[0]).toMatchObject({
        status: 'failed',
        error: INTERNAL_FAILURE_MESSAGE,
        errorCode: 'internal_error',
      });
      const status = await runs.getStatus(ENV);
      expect(status).toMatchObject({ lastStatus: 'failed', lastError: INTERNAL_FAILURE_MESSAGE });
      expect(status?.failingSince).toBeUndefined();
      expect(status?.transientSince).toBeUndefined();
      expect(JSON.stringify(await runs.history(ENV, 1))).not.toContain(internal.message);
    },
  );

  it('logs an internal failure as an error (it alarms at once) and a customer-side one as a warning', async () => {
    const { service, sealer, gateway } = await enabled();
    const errors = jest.spyOn(logger, 'error').mockImplementation(() => {});
    const warnings = jest.spyOn(logger, 'warn').mockImplementation(() => {});
    const unsealable = new SecretUnsealError('KMS refused the sealed secret.');
    const unseal = jest.spyOn(sealer, 'unseal').mockRejectedValueOnce(unsealable);
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    expect(errors.mock.calls).toEqual([
      [
        'Scheduled export failed',
        {
          environmentId: ENV,
          snapshotAt: ms('2026-03-10T00:00:00Z'),
          errorCode: 'internal_error',
          failureClass: 'internal',
          error: unsealable,
        },
      ],
    ]);
    expect(warnings).not.toHaveBeenCalled();

    errors.mockClear();
    const denied = new AccessDeniedError('acme-exports', 'daily');
    gateway.writeError = denied;
    await service.runScheduled(ENV, ms('2026-03-11T00:00:00Z'));
    expect(errors).not.toHaveBeenCalled();
    expect(warnings.mock.calls).toEqual([
      [
        'Scheduled export failed',
        {
          environmentId: ENV,
          snapshotAt: ms('2026-03-11T00:00:00Z'),
          errorCode: 'access_denied',
          failureClass: 'customer',
          error: denied,
        },
      ],
    ]);
    for (const spy of [errors, warnings, unseal]) spy.mockRestore();
  });

  it('keeps transientSince from the first of a run of transient failures, and clears it on a success', async () => {
    const { service, runs, gateway, clock } = await enabled();
    gateway.writeError = new TransientDestinationError();
    const first = clock.now();
    await expect(service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'))).rejects.toBeInstanceOf(RetryableRunError);
    clock.advance(DAY_MS);
    await expect(service.runScheduled(ENV, ms('2026-03-11T00:00:00Z'))).rejects.toBeInstanceOf(RetryableRunError);
    expect((await runs.getStatus(ENV))?.transientSince).toBe(first);
    gateway.writeError = undefined;
    await service.runScheduled(ENV, ms('2026-03-12T00:00:00Z'));
    expect((await runs.getStatus(ENV))?.transientSince).toBeUndefined();
  });

  it('keeps the first failingSince through later customer-side failures', async () => {
    const { service, runs, gateway, clock } = await enabled();
    gateway.writeError = new AccessDeniedError('acme-exports', 'daily');
    const first = clock.now();
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    clock.advance(DAY_MS);
    await service.runScheduled(ENV, ms('2026-03-11T00:00:00Z'));
    expect((await runs.getStatus(ENV))?.failingSince).toBe(first);
  });

  it('throws RetryableRunError on a transient destination failure, recording it without a failure sequence', async () => {
    const { service, runs, gateway } = await enabled();
    const transient = new TransientDestinationError();
    gateway.writeError = transient;
    const run = service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    await expect(run).rejects.toBeInstanceOf(RetryableRunError);
    const error = (await run.catch((e: unknown) => e)) as RetryableRunError;
    expect(error.message).toBe(transient.message);
    expect(error.cause).toBe(transient);
    const status = await runs.getStatus(ENV);
    expect(status).toMatchObject({ lastStatus: 'failed', lastErrorCode: 'temporarily_unavailable' });
    expect(status?.failingSince).toBeUndefined();
    expect((await runs.history(ENV, 1))[0]).toMatchObject({ status: 'failed', errorCode: 'temporarily_unavailable' });
  });

  it('throws RetryableRunError with the generic message on an unknown error, never its raw text', async () => {
    const { service, runs, gateway } = await enabled();
    const raw = new Error('socket hang up at 10.0.3.7 while using key AKIASECRETDETAIL');
    gateway.writeError = raw;
    const run = service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    await expect(run).rejects.toBeInstanceOf(RetryableRunError);
    const error = (await run.catch((e: unknown) => e)) as RetryableRunError;
    expect(error.message).toBe(GENERIC_FAILURE);
    expect(error.cause).toBe(raw);
    const status = await runs.getStatus(ENV);
    expect(status).toMatchObject({ lastError: GENERIC_FAILURE, lastErrorCode: 'internal_error' });
    expect(status?.failingSince).toBeUndefined();
    const [recorded] = await runs.history(ENV, 1);
    expect(recorded.error).toBe(GENERIC_FAILURE);
    expect(JSON.stringify([status, recorded])).not.toContain('socket hang up');
  });

  it('records an aborted run as a retryable failure with the time-limit message, writing nothing', async () => {
    const world = await enabled();
    await withOneCompany(world);
    const controller = new AbortController();
    controller.abort();
    const run = world.service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'), { signal: controller.signal });
    await expect(run).rejects.toBeInstanceOf(RetryableRunError);
    await expect(run).rejects.toThrow(TIME_LIMIT_MESSAGE);
    expect(world.gateway.objects).toEqual([]);
    expect((await world.runs.history(ENV, 1))[0]).toMatchObject({ status: 'failed', errorCode: 'time_limit_exceeded' });
    expect((await world.runs.getStatus(ENV))?.failingSince).toBeUndefined();
  });

  it('takes startedAt, finishedAt and failingSince of a failure from the clock', async () => {
    const { service, runs, gateway, clock } = await enabled();
    const start = ms('2026-03-10T00:02:00Z');
    clock.set(start);
    gateway.onWrite = () => clock.advance(1_500);
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    expect((await runs.history(ENV, 1))[0]).toMatchObject({
      startedAt: start,
      finishedAt: start + 1_500,
      durationMs: 1_500,
    });

    gateway.writeError = new InvalidCredentialsError();
    const secondStart = ms('2026-03-11T00:05:00Z');
    clock.set(secondStart);
    await service.runScheduled(ENV, ms('2026-03-11T00:00:00Z'));
    expect((await runs.getStatus(ENV))?.lastRunAt).toBe(secondStart);
    expect((await runs.getStatus(ENV))?.failingSince).toBe(secondStart + 1_500);
  });
});

describe('getStatus', () => {
  it("says 'never ran before' with no run, and no next run when nothing is configured", async () => {
    const { service } = await setup();
    expect(await service.getStatus(member, ENV)).toEqual({
      enabled: false,
      status: 'never ran before',
      lastRunAt: null,
      nextRunAt: null,
      error: null,
      errorCode: null,
      failingSince: null,
    });
  });

  it('shows the next daily run at the next 00:00 UTC and the next weekly one on the next Monday, while enabled', async () => {
    const daily = await enabled();
    expect(await daily.service.getStatus(member, ENV)).toMatchObject({
      enabled: true,
      status: 'never ran before',
      nextRunAt: '2026-03-11T00:00:00.000Z',
    });
    const weekly = await enabled({ cadence: 'weekly' });
    expect((await weekly.service.getStatus(member, ENV)).nextRunAt).toBe('2026-03-16T00:00:00.000Z');
  });

  it("says 'successful' with the last run time and no error", async () => {
    const { service, clock } = await enabled();
    clock.set(ms('2026-03-10T00:03:00Z'));
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    expect(await service.getStatus(member, ENV)).toEqual({
      enabled: true,
      status: 'successful',
      lastRunAt: '2026-03-10T00:03:00.000Z',
      nextRunAt: new Date(Math.floor(clock.now() / DAY_MS + 1) * DAY_MS).toISOString(),
      error: null,
      errorCode: null,
      failingSince: null,
    });
  });

  it("says 'failed' with the customer-facing error, its code and since when", async () => {
    const { service, gateway, clock } = await enabled();
    const missing = new BucketNotFoundError('acme-exports');
    gateway.writeError = missing;
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    expect(await service.getStatus(member, ENV)).toMatchObject({
      enabled: true,
      status: 'failed',
      error: missing.message,
      errorCode: 'bucket_not_found',
      failingSince: new Date(clock.now()).toISOString(),
    });
  });

  it("says 'stopped' with the stop reason and no next run once the failure check stopped it", async () => {
    const { service, settings, gateway } = await enabled();
    gateway.writeError = new AccessDeniedError('acme-exports', 'daily');
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    const stored = (await settings.get(ENV))!;
    await settings.stop(ENV, stored.version, ms('2026-03-13T00:00:00Z'), 'Stopped after failing for 72 hours.');
    expect(await service.getStatus(member, ENV)).toMatchObject({
      enabled: false,
      status: 'stopped',
      nextRunAt: null,
      error: 'Stopped after failing for 72 hours.',
      errorCode: null,
    });
  });

  it('shows no next run while disabled by the customer, keeping the last status', async () => {
    const { service, settings } = await enabled();
    await service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    await saveAsRead({ service, settings }, { enabled: false });
    expect(await service.getStatus(member, ENV)).toMatchObject({
      enabled: false,
      status: 'successful',
      nextRunAt: null,
    });
  });
});

describe('what the API shows', () => {
  it('shows defaults before anything is saved', async () => {
    const { service } = await setup();
    expect(await service.getSettings(member, ENV)).toEqual({
      enabled: false,
      cadence: 'daily',
      provider: null,
      bucketUrl: null,
      bucket: null,
      region: null,
      key: null,
      endpoint: null,
      accessKeyId: null,
      secretAccessKeySet: false,
      notifyEmails: [],
      updatedAt: null,
      stoppedAt: null,
      stoppedReason: null,
      version: 0,
    });
  });

  it('shows saved AWS settings with the bucket URL as sent, no endpoint, and the access key masked', async () => {
    const { service } = await enabled();
    expect(await service.getSettings(member, ENV)).toEqual({
      enabled: true,
      cadence: 'daily',
      provider: 'AWS',
      bucketUrl: awsInput.bucketUrl,
      bucket: 'acme-exports',
      region: 'eu-west-1',
      key: 'daily',
      endpoint: null,
      accessKeyId: '***************1234',
      secretAccessKeySet: true,
      notifyEmails: ['data@acme.example'],
      updatedAt: '2026-03-10T13:00:00.000Z',
      stoppedAt: null,
      stoppedReason: null,
      version: 1,
    });
  });

  it('keeps the saved bucket URL when a save leaves it out; a Custom destination shows its endpoint and no bucket URL', async () => {
    const world = await enabled();
    expect((await saveAsRead(world, { enabled: true, cadence: 'weekly' })).bucketUrl).toBe(awsInput.bucketUrl);
    expect(
      await saveAsRead(world, {
        enabled: true,
        provider: 'Custom',
        bucket: 'lake',
        endpoint: 'https://r2.example',
        key: '',
      }),
    ).toMatchObject({
      provider: 'Custom',
      bucketUrl: null,
      bucket: 'lake',
      region: 'us-east-1',
      key: '',
      endpoint: 'https://r2.example',
    });
    expect(await saveAsRead(world, { enabled: true, provider: 'GCP', bucket: 'lake' })).toMatchObject({
      provider: 'GCP',
      endpoint: null,
    });
  });

  it("lists the runs with their times as ISO text, each run's duration measured on the clock", async () => {
    const world = await enabled();
    await withOneCompany(world);
    // Each run takes 90 s on the clock.
    const listFeatures = world.tenants.listFeatures.bind(world.tenants);
    world.tenants.listFeatures = async (environmentId) => {
      world.clock.advance(90_000);
      return listFeatures(environmentId);
    };
    world.clock.set(ms('2026-03-10T00:02:00Z'));
    const done = await world.service.runScheduled(ENV, ms('2026-03-10T00:00:00Z'));
    world.clock.set(ms('2026-03-11T00:02:00Z'));
    world.gateway.writeError = new BucketNotFoundError('acme-exports');
    await world.service.runScheduled(ENV, ms('2026-03-11T00:00:00Z'));

    expect(done).toMatchObject({ outcome: 'successful', byteCount: expect.any(Number) });
    expect(await world.service.history(member, ENV, 10)).toEqual([
      {
        snapshotAt: '2026-03-11T00:00:00.000Z',
        date: '2026-03-10',
        cadence: 'daily',
        status: 'failed',
        startedAt: '2026-03-11T00:02:00.000Z',
        finishedAt: '2026-03-11T00:03:30.000Z',
        durationMs: 90_000,
        rowCount: null,
        byteCount: null,
        objectKey: null,
        error: world.gateway.writeError.message,
        attempts: 1,
      },
      {
        snapshotAt: '2026-03-10T00:00:00.000Z',
        date: '2026-03-09',
        cadence: 'daily',
        status: 'successful',
        startedAt: '2026-03-10T00:02:00.000Z',
        finishedAt: '2026-03-10T00:03:30.000Z',
        durationMs: 90_000,
        rowCount: 1,
        byteCount: (done as { byteCount: number }).byteCount,
        objectKey: `daily/${ENV}/production_daily_2026-03-09.csv`,
        error: null,
        attempts: 1,
      },
    ]);
  });

  it('names what is missing, and how to fix it, when enabling without it', async () => {
    const { service } = await setup();
    const error = (await service
      .putSettings(member, ENV, { enabled: true })
      .catch((e: unknown) => e)) as ValidationError;
    expect(error.message).toBe('Automatic export needs provider, accessKeyId, secretAccessKey, notifyEmails.');
    expect(error.issues).toEqual([
      { path: 'provider', message: 'choose AWS, GCP or Custom and its bucket' },
      { path: 'accessKeyId', message: 'required to enable automatic export' },
      { path: 'secretAccessKey', message: 'required to enable automatic export' },
      { path: 'notifyEmails', message: 'add at least one address to warn when exports fail' },
    ]);
  });

  it('says to send the secret with a new access key id', async () => {
    const world = await enabled();
    const error = (await saveAsRead(world, { enabled: true, accessKeyId: 'AKIANEW000005678' }).catch(
      (e: unknown) => e,
    )) as ValidationError;
    expect(error.message).toBe(
      'Send secretAccessKey with a new accessKeyId: the stored secret belongs to the previous key.',
    );
    expect(error.issues).toEqual([{ path: 'secretAccessKey', message: 'required when accessKeyId changes' }]);
  });

  it('says which version to send when a save is stale', async () => {
    expect(new StaleSettingsError(0).message).toBe(
      'No settings were saved for this environment yet: send version 0 (or leave it out) to create them.',
    );
    const stale = new StaleSettingsError(4);
    expect(stale.message).toBe(
      'These settings were changed since you read them (they are at version 4 now). Reload them, make your change again and save with the new version.',
    );
    expect(stale.name).toBe('StaleSettingsError');
    expect(stale.currentVersion).toBe(4);
    expect(new RetryableRunError('later').name).toBe('RetryableRunError');
  });
});
