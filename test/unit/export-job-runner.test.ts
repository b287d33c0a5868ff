/**
 * The job runner with in-memory fakes: the windows (recurring runs meet, one-time runs cover their
 * UTC days by event time), the job's status around a run, skipped jobs, the credentials by auth mode,
 * profiles changed since the last successful run, and failures recorded in the customer's words.
 */
import { AccessDeniedError } from '../../lambdas/core/destination';
import { ExportJobRunner, INTERNAL_RUN_FAILURE, runWindow } from '../../lambdas/core/export-job-runner';
import type { ExportJob, NamedDestination, ProfileStore } from '../../lambdas/ports';
import { jobOf } from '../support/export-job-store-contracts';
import { ArrayProfileStore, ArrayRawEventReader, eventRecord } from '../support/export-job-fixtures';
import { FakeClock, FakeDestinationGateway, FakeDestinationStore, FakeExportJobStore, FakeSealer, FakeTenantStore } from '../support/fakes';

const HOUR = 3600_000;
const NOW = Date.parse('2026-11-23T12:00:00Z');

async function setup(job: Partial<ExportJob>, auth: NamedDestination['auth'] = { mode: 'bucketPolicy' }) {
  const tenants = new FakeTenantStore();
  tenants.environments.set('env1', { id: 'env1', organizationId: 'org_1', name: 'Production', ingestKeyHash: 'h', ingestKeyPrefix: 'ik_a', createdAt: 0 } as never);
  const destinations = new FakeDestinationStore();
  const sealer = new FakeSealer();
  await destinations.create({
    environmentId: 'env1',
    id: 'dst_1',
    name: 'Lake',
    destination: { provider: 'AWS', bucket: 'lake', region: 'eu-west-1', keyPrefix: 'exports' },
    auth: auth.mode === 'accessKey' ? { ...auth, sealedSecretAccessKey: await sealer.seal(auth.sealedSecretAccessKey, { environmentId: 'env1' }) } : auth,
    createdAt: 0,
    updatedAt: 0,
    version: 1,
  });
  const jobs = new FakeExportJobStore();
  await jobs.create(jobOf('env1', 'job_1', 1, { destinationId: 'dst_1', format: 'json', compression: 'none', ...job }));
  const gateway = new FakeDestinationGateway();
  const rawEvents = new ArrayRawEventReader([
    eventRecord('signup', NOW - 5 * HOUR, { plan: 'pro' }, { environmentId: 'env1', receivedAt: NOW - 5 * HOUR }),
    eventRecord('signup', NOW - 2 * HOUR, { plan: 'free' }, { environmentId: 'env1', receivedAt: NOW - 2 * HOUR }),
  ]);
  const profiles = new ArrayProfileStore([
    { userId: 'old', attributes: { plan: 'pro' }, updatedAt: NOW - 30 * HOUR },
    { userId: 'new', attributes: { plan: 'free' }, updatedAt: NOW - HOUR },
  ]);
  const profileReads: (number | 'all')[] = [];
  const watchedProfiles: Pick<ProfileStore, 'listProfiles' | 'listProfilesChangedSince'> = {
    listProfiles: () => (profileReads.push('all'), profiles.listProfiles()),
    listProfilesChangedSince: (environmentId, since) => (profileReads.push(since), profiles.listProfilesChangedSince(environmentId, since)),
  };
  const runner = new ExportJobRunner({ tenants, destinations, jobs, sealer, gateway, rawEvents, profiles: watchedProfiles, clock: new FakeClock(NOW) });
  return { runner, jobs, gateway, profileReads };
}

describe('runWindow', () => {
  test('recurring: the receive time from the previous scheduled time to this one, so consecutive runs meet', () => {
    const job = jobOf('env1', 'job_1', 1, { frequency: { kind: 'recurring', everyHours: 4 } });
    const first = runWindow(job, NOW, NOW);
    const second = runWindow(job, NOW + 4 * HOUR, NOW + 4 * HOUR);
    expect(first).toEqual({ from: NOW - 4 * HOUR, to: NOW, by: 'receiveTime' });
    expect(second.from).toBe(first.to);
  });

  test('one-time: the UTC days from..to by event time, both included, read until the run', () => {
    const job = jobOf('env1', 'job_1', 1, { frequency: { kind: 'oneTime', from: '2026-11-20', to: '2026-11-21' } });
    expect(runWindow(job, NOW, NOW + 5)).toEqual({ from: Date.parse('2026-11-20T00:00:00Z'), to: Date.parse('2026-11-22T00:00:00Z'), by: 'eventTime', readUntil: NOW + 5 });
  });
});

describe('ExportJobRunner', () => {
  test('a recurring run writes its window with the service identity, records the run, and leaves the job PENDING', async () => {
    const { runner, jobs, gateway } = await setup({ frequency: { kind: 'recurring', everyHours: 4 } });
    const outcome = await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW });
    expect(outcome).toMatchObject({ outcome: 'ran', run: { status: 'successful', window: { from: NOW - 4 * HOUR, to: NOW } } });
    expect(gateway.objects.map((o) => [o.credentials.accessKeyId, o.key, o.body.split('\n').filter(Boolean).length])).toEqual([
      ['service-export-role', 'exports/job_1-20261123120000-signup-20261123-0-env1.json', 2],
    ]);
    const [run] = await jobs.listRuns('env1', 'job_1', 10);
    expect(run).toMatchObject({ runId: '20261123120000', status: 'successful', files: [{ key: 'exports/job_1-20261123120000-signup-20261123-0-env1.json', records: 1 }] });
    expect(await jobs.get('env1', 'job_1')).toMatchObject({ status: 'PENDING', lastRunAt: NOW, version: 3 });
  });

  test('an access-key destination is written with the customer key, unsealed; a one-time job is DONE after its run', async () => {
    const { runner, jobs, gateway } = await setup(
      { frequency: { kind: 'oneTime', from: '2026-11-23', to: '2026-11-23' } },
      { mode: 'accessKey', accessKeyId: 'AKIA1', sealedSecretAccessKey: 'secret-1' },
    );
    await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW });
    expect(gateway.objects.map((o) => o.credentials)).toEqual([{ accessKeyId: 'AKIA1', secretAccessKey: 'secret-1' }]);
    expect((await jobs.get('env1', 'job_1'))?.status).toBe('DONE');
    expect(await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW })).toEqual({ outcome: 'skipped', reason: 'Export job job_1 is DONE.' });
  });

  test('a stopped or missing job is skipped without a run', async () => {
    const { runner, jobs, gateway } = await setup({ status: 'STOPPED' });
    expect(await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW })).toMatchObject({ outcome: 'skipped' });
    expect(await runner.run({ environmentId: 'env1', jobId: 'job_9', scheduledTime: NOW })).toMatchObject({ outcome: 'skipped' });
    expect(await jobs.listRuns('env1', 'job_1', 10)).toEqual([]);
    expect(gateway.objects).toEqual([]);
  });

  test('profiles: every profile on the first run, then those changed since the last successful run started', async () => {
    const { runner, profileReads } = await setup({ type: 'userProfiles', frequency: { kind: 'recurring', everyHours: 24 } });
    await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW, runAt: NOW });
    await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW + 24 * HOUR, runAt: NOW + 24 * HOUR });
    expect(profileReads).toEqual(['all', NOW]);
  });

  test('a failed write is recorded in the customer words of the destination error; another failure says it was ours', async () => {
    const { runner, jobs, gateway } = await setup({ frequency: { kind: 'recurring', everyHours: 4 } });
    gateway.writeError = new AccessDeniedError('lake', 'exports');
    await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW });
    gateway.writeError = new Error('socket hang up at 10.0.0.1');
    await runner.run({ environmentId: 'env1', jobId: 'job_1', scheduledTime: NOW + HOUR });
    const [internal, denied] = await jobs.listRuns('env1', 'job_1', 10);
    expect(denied).toMatchObject({ status: 'failed', files: [], error: expect.stringMatching(/^Access denied: .*bucket "lake" under "exports\/"/) });
    expect(internal).toMatchObject({ status: 'failed', error: INTERNAL_RUN_FAILURE });
    expect((await jobs.get('env1', 'job_1'))?.status).toBe('PENDING');
  });
});
