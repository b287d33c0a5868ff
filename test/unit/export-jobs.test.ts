/**
 * Named destinations and export-job management with in-memory fakes: validation and sealing by auth
 * mode, versions, deletion while in use; job creation (schedule or dispatch), the editing rules,
 * stopping, the listing's filters, page sizes and cursor. The fakes pass the stores' shared contract.
 */
import { AccessDeniedError } from '../../lambdas/core/destination';
import { DestinationValidationError } from '../../lambdas/core/destination-input';
import {
  bucketPolicy,
  DestinationInUseError,
  DestinationService,
  RawExportDestinationInUseError,
  StaleDestinationError,
  type DestinationInput,
} from '../../lambdas/core/destinations';
import { NotFoundError, PlanRequiredError, ValidationError } from '../../lambdas/core/errors';
import {
  checkFrequency,
  ExportJobService,
  JobNotEditableError,
  JobRunnerMissingError,
  pageOfJobs,
  StaleJobError,
  type ExportJobInput,
  type JobRunner,
} from '../../lambdas/core/export-jobs';
import type { Caller } from '../../lambdas/core/access';
import type { RunTimeLimit } from '../../lambdas/core/export/pipeline';
import type { ExportJob, ExportJobFrequency, RawExportSettings } from '../../lambdas/ports';
import {
  destinationStoreContract,
  exportJobStoreContract,
  failingJobsStoreContract,
  jobOf,
} from '../support/export-job-store-contracts';
import {
  FakeClock,
  FakeDestinationGateway,
  FakeDestinationStore,
  FakeExportJobStore,
  FakeJobDispatcher,
  FakeScheduler,
  FakeSealer,
  fakeTenant,
} from '../support/fakes';

const NOW = Date.parse('2026-11-23T10:30:00Z');
const DAY = 86_400_000;
const ROLE = 'arn:aws:iam::123456789012:role/data-export-export-role';
const caller: Caller = { organizationId: 'org_1', role: 'member' };

describe('FakeDestinationStore (contract)', () => destinationStoreContract(() => new FakeDestinationStore()));
describe('FakeExportJobStore (contract)', () => exportJobStoreContract(() => new FakeExportJobStore()));
describe('FakeExportJobStore failure sequences (contract)', () =>
  failingJobsStoreContract(() => new FakeExportJobStore()));

function setup(plan: 'free' | 'pro' | 'enterprise' = 'enterprise', rawExport?: RawExportSettings) {
  const tenants = fakeTenant(plan, 'env_1');
  const destinationStore = new FakeDestinationStore();
  const jobStore = new FakeExportJobStore();
  const gateway = new FakeDestinationGateway();
  const scheduler = new FakeScheduler();
  const dispatcher = new FakeJobDispatcher();
  const clock = new FakeClock(NOW);
  let ids = 0;
  const newId = (prefix: string) => `${prefix}_${++ids}`;
  const destinations = new DestinationService({
    tenants,
    destinations: destinationStore,
    jobs: jobStore,
    rawExports: { getSettings: (environmentId) => Promise.resolve(rawExport && { ...rawExport, environmentId }) },
    sealer: new FakeSealer(),
    gateway,
    clock,
    newId,
    exportRoleArn: ROLE,
  });
  const jobsDependencies = {
    tenants,
    destinations: destinationStore,
    jobs: jobStore,
    scheduler,
    dispatcher,
    clock,
    newId,
  };
  const jobs = new ExportJobService(jobsDependencies);
  return { destinations, jobs, jobsDependencies, destinationStore, jobStore, gateway, scheduler, dispatcher, clock };
}

const accessKeyDestination: DestinationInput = {
  name: 'Warehouse',
  provider: 'AWS',
  bucketUrl: 'https://acme-exports.s3.eu-west-1.amazonaws.com/events',
  auth: { mode: 'accessKey', accessKeyId: 'AKIAEXAMPLE0001', secretAccessKey: 'secret-1' },
};
const policyDestination: DestinationInput = {
  ...accessKeyDestination,
  name: 'By policy',
  auth: { mode: 'bucketPolicy' },
};

describe('DestinationService', () => {
  test('an access-key destination is validated by listing with the key, its secret sealed and never returned', async () => {
    const { destinations, destinationStore, gateway } = setup();
    const view = await destinations.create(caller, 'env_1', accessKeyDestination);
    expect(gateway.validations).toEqual([
      {
        destination: { provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: 'events' },
        credentials: { accessKeyId: 'AKIAEXAMPLE0001', secretAccessKey: 'secret-1' },
      },
    ]);
    expect(view).toMatchObject({
      id: 'dst_1',
      provider: 'AWS',
      bucket: 'acme-exports',
      key: 'events',
      auth: { mode: 'accessKey', accessKeyId: '***********0001', secretAccessKeySet: true },
      version: 1,
    });
    expect(JSON.stringify(view)).not.toContain('secret-1');
    expect(view.policy).toBeUndefined();
    const stored = await destinationStore.get('env_1', 'dst_1');
    expect(stored!.auth).toEqual({
      mode: 'accessKey',
      accessKeyId: 'AKIAEXAMPLE0001',
      sealedSecretAccessKey: expect.stringMatching(/^sealed:/),
    });
  });

  test('a bucket-policy destination is validated by a probe write as the export role, and its answer carries the policy', async () => {
    const { destinations, gateway } = setup();
    const view = await destinations.create(caller, 'env_1', policyDestination);
    expect(gateway.probes).toHaveLength(1);
    expect(gateway.validations).toHaveLength(0);
    expect(view.auth).toEqual({ mode: 'bucketPolicy' });
    expect(view.policy).toEqual(bucketPolicy('acme-exports', ROLE));
    expect(view.policy!.Statement[0]).toMatchObject({
      Principal: { AWS: ROLE },
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::acme-exports/*',
    });
  });

  test('a failed validation saves nothing and says what is wrong', async () => {
    const { destinations, destinationStore, gateway } = setup();
    gateway.probeError = new AccessDeniedError('acme-exports', 'events');
    await expect(destinations.create(caller, 'env_1', policyDestination)).rejects.toBeInstanceOf(
      DestinationValidationError,
    );
    expect(await destinationStore.list('env_1')).toEqual([]);
  });

  test('GCP destinations take a key: bucketPolicy is refused before any request', async () => {
    const { destinations, gateway } = setup();
    const gcp: DestinationInput = {
      name: 'GCS',
      provider: 'GCP',
      bucket: 'acme',
      region: 'europe-west1',
      auth: { mode: 'bucketPolicy' },
    };
    await expect(destinations.create(caller, 'env_1', gcp)).rejects.toThrow(ValidationError);
    expect(gateway.probes).toHaveLength(0);
  });

  test('the bucket-policy answer names the bucket; a malformed name is refused', async () => {
    const { destinations } = setup();
    expect((await destinations.bucketPolicy(caller, 'env_1', 'acme-exports')).policy.Statement[0].Resource).toBe(
      'arn:aws:s3:::acme-exports/*',
    );
    await expect(destinations.bucketPolicy(caller, 'env_1', 'Not A Bucket')).rejects.toThrow(
      /bucket: send \?bucket=<name>/,
    );
  });

  test('the bucket policy in full: the export role may put objects into the bucket, nothing else', async () => {
    const { destinations } = setup();
    expect(await destinations.bucketPolicy(caller, 'env_1', 'acme-exports')).toEqual({
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DataExportServiceWrites',
            Effect: 'Allow',
            Principal: { AWS: ROLE },
            Action: 's3:PutObject',
            Resource: 'arn:aws:s3:::acme-exports/*',
          },
        ],
      },
    });
  });

  test('a bucket URL is kept for AWS only, an endpoint shown for Custom only', async () => {
    const { destinations } = setup();
    const custom = await destinations.create(caller, 'env_1', {
      name: 'R2',
      provider: 'Custom',
      bucket: 'acme',
      endpoint: 'https://acct.r2.cloudflarestorage.com',
      bucketUrl: 'https://acme.s3.eu-west-1.amazonaws.com/stray',
      auth: { mode: 'accessKey', accessKeyId: 'R2KEY0001', secretAccessKey: 'secret-r2' },
    });
    expect(custom).toMatchObject({
      provider: 'Custom',
      bucketUrl: null,
      endpoint: 'https://acct.r2.cloudflarestorage.com',
    });
    const gcp = await destinations.update(caller, 'env_1', custom.id, {
      name: 'GCS',
      provider: 'GCP',
      bucket: 'acme',
      bucketUrl: 'https://acme.s3.eu-west-1.amazonaws.com/stray',
      auth: { mode: 'accessKey', accessKeyId: 'GOOGKEY0001', secretAccessKey: 'secret-gcs' },
      version: 1,
    });
    expect(gcp).toMatchObject({ provider: 'GCP', bucketUrl: null, endpoint: null });
    const aws = await destinations.create(caller, 'env_1', accessKeyDestination);
    expect(aws).toMatchObject({ bucketUrl: accessKeyDestination.bucketUrl, endpoint: null });
  });

  test('enterprise plan only', async () => {
    const { destinations } = setup('pro');
    await expect(destinations.create(caller, 'env_1', accessKeyDestination)).rejects.toBeInstanceOf(PlanRequiredError);
  });

  test('PUT: needs the version read; keeps the sealed secret for the same key id, requires one for a new key id', async () => {
    const { destinations, destinationStore, gateway } = setup();
    await destinations.create(caller, 'env_1', accessKeyDestination);
    const sealed = (await destinationStore.get('env_1', 'dst_1'))!.auth;
    const keep = {
      ...accessKeyDestination,
      name: 'Renamed',
      auth: { mode: 'accessKey' as const, accessKeyId: 'AKIAEXAMPLE0001' },
    };
    await expect(destinations.update(caller, 'env_1', 'dst_1', { ...keep, version: 2 })).rejects.toBeInstanceOf(
      StaleDestinationError,
    );
    const updated = await destinations.update(caller, 'env_1', 'dst_1', { ...keep, version: 1 });
    expect(updated).toMatchObject({ name: 'Renamed', version: 2 });
    expect((await destinationStore.get('env_1', 'dst_1'))!.auth).toEqual(sealed);
    expect(gateway.validations[1].credentials.secretAccessKey).toBe('secret-1');
    await expect(
      destinations.update(caller, 'env_1', 'dst_1', {
        ...keep,
        auth: { mode: 'accessKey', accessKeyId: 'AKIAOTHER0002' },
        version: 2,
      }),
    ).rejects.toThrow(/secretAccessKey/);
  });

  test('DELETE is refused while active jobs use it, naming them; allowed once they are stopped', async () => {
    const { destinations, jobs, destinationStore } = setup();
    await destinations.create(caller, 'env_1', accessKeyDestination);
    const job = await jobs.create(caller, 'env_1', recurring);
    const refusal = await destinations.delete(caller, 'env_1', 'dst_1').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DestinationInUseError);
    expect((refusal as DestinationInUseError).jobIds).toEqual([job.id]);
    expect((refusal as Error).message).toContain(job.id);
    await jobs.stop(caller, 'env_1', job.id);
    await destinations.delete(caller, 'env_1', 'dst_1');
    expect(await destinationStore.get('env_1', 'dst_1')).toBeUndefined();
  });
});

describe('DestinationService: what a DELETE is refused for', () => {
  test('jobs writing to another destination, or DONE and STOPPED ones, do not keep it', async () => {
    const { destinations, jobs, jobStore, destinationStore } = setup();
    await destinations.create(caller, 'env_1', accessKeyDestination);
    await destinations.create(caller, 'env_1', { ...accessKeyDestination, name: 'Second' });
    const active = await jobs.create(caller, 'env_1', recurring);
    const done = await jobs.create(caller, 'env_1', { ...recurring, destinationId: 'dst_2' });
    const stored = (await jobStore.get('env_1', done.id))!;
    expect(await jobStore.put({ ...stored, status: 'DONE', version: stored.version + 1 }, stored.version)).toBe(true);
    const stopped = await jobs.create(caller, 'env_1', { ...recurring, destinationId: 'dst_2' });
    await jobs.stop(caller, 'env_1', stopped.id);
    await destinations.delete(caller, 'env_1', 'dst_2');
    expect(await destinationStore.get('env_1', 'dst_2')).toBeUndefined();
    await expect(destinations.delete(caller, 'env_1', 'dst_1')).rejects.toMatchObject({
      name: 'DestinationInUseError',
      code: 'destination_in_use',
      jobIds: [active.id],
      message: `Destination dst_1 is used by active export jobs ${active.id}. Stop those jobs (POST .../export-jobs/{id}/stop) first.`,
    });
  });

  test('a change based on an old version: the 409 names the current version and what to do', async () => {
    const { destinations } = setup();
    await destinations.create(caller, 'env_1', accessKeyDestination);
    await destinations.update(caller, 'env_1', 'dst_1', { ...accessKeyDestination, name: 'Renamed', version: 1 });
    await expect(
      destinations.update(caller, 'env_1', 'dst_1', { ...accessKeyDestination, name: 'Late', version: 1 }),
    ).rejects.toMatchObject({
      name: 'StaleDestinationError',
      message:
        'Destination dst_1 was changed since you read it (it is at version 2 now). Reload it, make your change again and save with the new version.',
    });
  });

  test('the raw revisions export writing into it, while turned on', async () => {
    const rawExport = {
      environmentId: 'env_1',
      enabled: true,
      destinationId: 'dst_1',
      notifyEmails: [],
      updatedAt: NOW,
      version: 1,
    };
    const on = setup('enterprise', rawExport);
    await on.destinations.create(caller, 'env_1', accessKeyDestination);
    await on.destinations.create(caller, 'env_1', { ...accessKeyDestination, name: 'Second' });
    const refusal = await on.destinations.delete(caller, 'env_1', 'dst_1').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RawExportDestinationInUseError);
    expect((refusal as Error).message).toBe(
      'Destination dst_1 is used by the raw revisions export. Turn it off or choose another destination (PUT .../raw-export/settings) first.',
    );
    await on.destinations.delete(caller, 'env_1', 'dst_2');
    const off = setup('enterprise', { ...rawExport, enabled: false });
    await off.destinations.create(caller, 'env_1', accessKeyDestination);
    await off.destinations.delete(caller, 'env_1', 'dst_1');
    expect(await off.destinationStore.get('env_1', 'dst_1')).toBeUndefined();
  });

  test('a destination that does not exist: 404', async () => {
    const { destinations } = setup();
    await expect(destinations.delete(caller, 'env_1', 'dst_missing')).rejects.toThrow(
      'Destination dst_missing not found.',
    );
    await expect(destinations.get(caller, 'env_1', 'dst_missing')).rejects.toBeInstanceOf(NotFoundError);
  });
});

const recurring: ExportJobInput = {
  destinationId: 'dst_1',
  type: 'allEvents',
  frequency: { kind: 'recurring', everyHours: 6 },
  format: 'csv',
  notifyEmails: ['data@acme.example'],
};
const oneTime: ExportJobInput = {
  ...recurring,
  type: 'userProfiles',
  frequency: { kind: 'oneTime', from: '2026-11-01', to: '2026-11-20' },
  format: 'parquet',
};

/**
 * Another writer's edits of job `jobId` (of env_1), each saved as the next version, land just before the
 * store's next `put`: the service read the job before them, so its write names a stale version.
 */
function editedBeforeNextPut(jobStore: FakeExportJobStore, jobId: string, edits: Partial<ExportJob>[]): void {
  const put = jobStore.put.bind(jobStore);
  let raced = false;
  jobStore.put = async (item, expectedVersion) => {
    if (!raced) {
      raced = true;
      const current = (await jobStore.get('env_1', jobId))!;
      for (const [i, edit] of edits.entries()) {
        await put({ ...current, ...edit, version: current.version + i + 1 }, current.version + i);
      }
    }
    return put(item, expectedVersion);
  };
}

async function withDestination() {
  const context = setup();
  await context.destinations.create(caller, 'env_1', accessKeyDestination);
  return context;
}

describe('ExportJobService', () => {
  test('a recurring job is PENDING with one rate schedule from now; defaults filled in', async () => {
    const { jobs, scheduler, dispatcher } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    expect(job).toMatchObject({
      status: 'PENDING',
      provider: 'AWS',
      identityPriority: ['identity'],
      compression: 'gzip',
      asString: false,
      version: 1,
    });
    expect(scheduler.calls).toEqual([
      { op: 'upsertJob', environmentId: 'env_1', jobId: job.id, everyHours: 6, startAt: NOW },
    ]);
    expect(dispatcher.dispatched).toEqual([]);
  });

  test('a recurring job with a start date starts at its 00:00 UTC', async () => {
    const { jobs, scheduler } = await withDestination();
    await jobs.create(caller, 'env_1', {
      ...recurring,
      frequency: { kind: 'recurring', everyHours: 24, startDate: '2026-11-25' },
    });
    expect(scheduler.calls[0]).toMatchObject({ everyHours: 24, startAt: Date.parse('2026-11-25T00:00:00Z') });
  });

  test('a one-time job is dispatched at once, with no schedule', async () => {
    const { jobs, scheduler, dispatcher } = await withDestination();
    const job = await jobs.create(caller, 'env_1', oneTime);
    expect(dispatcher.dispatched).toEqual([{ environmentId: 'env_1', jobId: job.id, scheduledTime: NOW }]);
    expect(scheduler.calls).toEqual([]);
  });

  test.each([
    [{ from: '2026-09-23', to: '2026-11-01' }, 'frequency.from'],
    [{ from: '2026-11-20', to: '2026-11-24' }, 'frequency.to'],
    [{ from: '2026-11-20', to: '2026-11-19' }, 'frequency.to'],
  ])('one-time days %j are refused on %s', async (days, path) => {
    const { jobs, jobStore } = await withDestination();
    const refusal = await jobs
      .create(caller, 'env_1', { ...oneTime, frequency: { kind: 'oneTime', ...days } })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ValidationError);
    expect((refusal as ValidationError).issues.map((issue) => issue.path)).toContain(path);
    expect(await jobStore.list('env_1')).toEqual([]);
  });

  test('the earliest day allowed is 60 days back; today is allowed', async () => {
    const { jobs } = await withDestination();
    await expect(
      jobs.create(caller, 'env_1', {
        ...oneTime,
        frequency: { kind: 'oneTime', from: '2026-09-24', to: '2026-11-23' },
      }),
    ).resolves.toBeDefined();
  });

  test('a job needs a destination of its environment', async () => {
    const { jobs } = setup();
    await expect(jobs.create(caller, 'env_1', recurring)).rejects.toThrow(/destinationId: no destination dst_1/);
  });

  test('editing: one-time 409 one_time_not_editable; STOPPED 409 job_finished; events <-> profiles 400; stale 409', async () => {
    const { jobs } = await withDestination();
    const once = await jobs.create(caller, 'env_1', oneTime);
    await expect(jobs.update(caller, 'env_1', once.id, { format: 'csv', version: 1 })).rejects.toMatchObject({
      code: 'one_time_not_editable',
    });
    const job = await jobs.create(caller, 'env_1', recurring);
    await expect(jobs.update(caller, 'env_1', job.id, { type: 'userProfiles', version: 1 })).rejects.toThrow(
      /type: cannot switch between events and profiles/,
    );
    await expect(jobs.update(caller, 'env_1', job.id, { format: 'json', version: 7 })).rejects.toBeInstanceOf(
      StaleJobError,
    );
    await jobs.stop(caller, 'env_1', job.id);
    const finished = await jobs
      .update(caller, 'env_1', job.id, { format: 'json', version: 2 })
      .catch((error: unknown) => error);
    expect(finished).toBeInstanceOf(JobNotEditableError);
    expect((finished as JobNotEditableError).code).toBe('job_finished');
  });

  test('an edit is refused with the field to fix: a one-time frequency, selected events without names, names for all events', async () => {
    const { jobs, jobStore } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    const issuesOf = async (change: Parameters<typeof jobs.update>[3]) => {
      const refusal = await jobs.update(caller, 'env_1', job.id, change).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ValidationError);
      return (refusal as ValidationError).issues;
    };
    expect(
      await issuesOf({ frequency: { kind: 'oneTime', from: '2026-11-01', to: '2026-11-02' }, version: 1 }),
    ).toEqual([{ path: 'frequency.kind', message: 'a recurring job stays recurring; create a one-time job instead' }]);
    expect(await issuesOf({ type: 'selectedEvents', version: 1 })).toEqual([
      { path: 'events', message: 'selectedEvents needs 1-100 event names' },
    ]);
    expect(await issuesOf({ events: ['signup'], version: 1 })).toEqual([
      { path: 'events', message: 'only for type selectedEvents' },
    ]);
    expect((await jobStore.get('env_1', job.id))!.version).toBe(1);
  });

  test('selected events are kept when an edit leaves them out; the schedule is left alone unless the frequency changes', async () => {
    const { jobs, scheduler } = await withDestination();
    const job = await jobs.create(caller, 'env_1', { ...recurring, type: 'selectedEvents', events: ['signup'] });
    const edited = await jobs.update(caller, 'env_1', job.id, { format: 'json', version: 1 });
    expect(edited).toMatchObject({ type: 'selectedEvents', events: ['signup'], format: 'json' });
    await jobs.update(caller, 'env_1', job.id, { frequency: { kind: 'recurring', everyHours: 6 }, version: 2 });
    expect(scheduler.calls).toHaveLength(1);
    await jobs.update(caller, 'env_1', job.id, {
      frequency: { kind: 'recurring', everyHours: 6, startDate: '2026-11-25' },
      version: 3,
    });
    expect(scheduler.calls[1]).toMatchObject({ everyHours: 6, startAt: Date.parse('2026-11-25T00:00:00Z') });
  });

  test('an edit is saved for the next run; a new frequency replaces the schedule', async () => {
    const { jobs, scheduler } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    const edited = await jobs.update(caller, 'env_1', job.id, {
      type: 'selectedEvents',
      events: ['signup'],
      format: 'json',
      version: 1,
    });
    expect(edited).toMatchObject({ type: 'selectedEvents', events: ['signup'], format: 'json', version: 2 });
    expect(scheduler.calls).toHaveLength(1);
    await jobs.update(caller, 'env_1', job.id, { frequency: { kind: 'recurring', everyHours: 12 }, version: 2 });
    expect(scheduler.calls[1]).toEqual({
      op: 'upsertJob',
      environmentId: 'env_1',
      jobId: job.id,
      everyHours: 12,
      startAt: NOW,
    });
  });

  test('stop: STOPPED, then the schedule deleted; again changes nothing', async () => {
    const { jobs, scheduler, clock } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    clock.advance(60_000);
    const stopped = await jobs.stop(caller, 'env_1', job.id);
    expect(stopped).toMatchObject({ status: 'STOPPED', stoppedAt: new Date(NOW + 60_000).toISOString(), version: 2 });
    expect(scheduler.jobSchedules.has(job.id)).toBe(false);
    expect(await jobs.stop(caller, 'env_1', job.id)).toEqual(stopped);
  });

  test('the run history comes from the store, most recent first', async () => {
    const { jobs, jobStore } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    expect(await jobs.runs(caller, 'env_1', job.id, 20)).toEqual([]);
    await jobStore.recordRun('env_1', job.id, {
      runId: '20261123103000',
      window: { from: NOW - 21_600_000, to: NOW },
      status: 'successful',
      startedAt: NOW,
      finishedAt: NOW + 5,
      files: [{ key: 'events/a.csv.gz', records: 3, bytes: 90 }],
    });
    expect(await jobs.runs(caller, 'env_1', job.id, 20)).toEqual([
      {
        runId: '20261123103000',
        window: { from: '2026-11-23T04:30:00.000Z', to: '2026-11-23T10:30:00.000Z' },
        status: 'successful',
        startedAt: '2026-11-23T10:30:00.000Z',
        finishedAt: '2026-11-23T10:30:00.005Z',
        files: [{ key: 'events/a.csv.gz', records: 3, bytes: 90 }],
        error: null,
      },
    ]);
  });

  test('runJob is the seam to the job run: refused until it is wired, then handed the request', async () => {
    const { jobs } = await withDestination();
    const refusal = await jobs
      .runJob({ environmentId: 'env_1', jobId: 'job_1', scheduledTime: NOW })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(JobRunnerMissingError);
    expect(refusal).toMatchObject({
      name: 'JobRunnerMissingError',
      message: 'The export job run is not wired into this build (services.ts: runJob).',
    });
  });
});

describe('pageOfJobs', () => {
  const jobs = Array.from({ length: 45 }, (_, i) =>
    jobOf('env_1', `job_${String(i).padStart(2, '0')}`, 1, {
      createdAt: 1_000 + Math.floor(i / 2), // pairs share a creation instant: the id breaks the tie
      provider: i % 3 === 0 ? 'GCP' : 'AWS',
      type: i % 5 === 0 ? 'userProfiles' : 'allEvents',
      format: (['json', 'xml', 'csv', 'parquet'] as const)[i % 4],
      status: i % 7 === 0 ? 'STOPPED' : 'PENDING',
      frequency:
        i % 2 === 0 ? { kind: 'oneTime', from: '2026-11-01', to: '2026-11-02' } : { kind: 'recurring', everyHours: 4 },
      lastRunAt: i < 40 ? 10_000 + i * 100 : undefined,
    }),
  );

  const allPages = (query: Omit<Parameters<typeof pageOfJobs>[1], 'cursor'>) => {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = pageOfJobs(jobs, { ...query, cursor });
      pages.push(page.items.map((job) => job.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return pages;
  };

  test.each([10, 20, 30, 40])('pageSize %i: every job once, newest first, in pages of that size', (pageSize) => {
    const pages = allPages({ pageSize });
    expect(pages.slice(0, -1).every((page) => page.length === pageSize)).toBe(true);
    expect(pages.flat()).toEqual(
      [...jobs].sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id)).map((job) => job.id),
    );
  });

  test.each([0, 5, 15, 25, 50, 100])('pageSize %i is refused', (pageSize) => {
    expect(() => pageOfJobs(jobs, { pageSize })).toThrow(/pageSize: must be one of 10, 20, 30, 40/);
  });

  test.each([
    ['provider', { provider: 'GCP' as const }, (i: number) => i % 3 === 0],
    ['type', { type: 'userProfiles' as const }, (i: number) => i % 5 === 0],
    ['format', { format: 'xml' as const }, (i: number) => i % 4 === 1],
    ['status', { status: 'STOPPED' as const }, (i: number) => i % 7 === 0],
    ['frequency', { frequency: 'recurring' as const }, (i: number) => i % 2 === 1],
    ['exportedFrom/exportedTo', { exportedFrom: 12_000, exportedTo: 13_000 }, (i: number) => i >= 20 && i < 30],
    [
      'several at once',
      { provider: 'AWS' as const, frequency: 'oneTime' as const },
      (i: number) => i % 3 !== 0 && i % 2 === 0,
    ],
  ])('filter %s', (_name, filter, expected) => {
    const ids = allPages({ pageSize: 10, ...filter })
      .flat()
      .sort();
    expect(ids).toEqual(
      jobs
        .map((job, i) => (expected(i) ? job.id : undefined))
        .filter(Boolean)
        .sort(),
    );
  });

  test('a cursor the API did not give is refused', () => {
    expect(() => pageOfJobs(jobs, { pageSize: 20, cursor: 'not-a-cursor' })).toThrow(/cursor/);
  });

  test.each([
    ['a creation that is not a number', ['1000', 'job_10']],
    ['an id that is not a string', [1000, 10]],
    ['neither', [null, null]],
    ['not a list', { createdAt: 1000, id: 'job_10' }],
  ])('a cursor of the right encoding with %s is refused, saying what to send', (_name, content) => {
    const cursor = Buffer.from(JSON.stringify(content)).toString('base64url');
    const refusal = (() => {
      try {
        return pageOfJobs(jobs, { pageSize: 20, cursor });
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ValidationError);
    expect(refusal).toMatchObject({
      message:
        'Invalid query string. cursor: not a cursor this API gave; send the nextCursor of the previous page, or none.',
      issues: [{ path: 'cursor', message: 'not a cursor this API gave' }],
    });
  });

  test('a page size refused names its field and the sizes allowed', () => {
    expect(() => pageOfJobs(jobs, { pageSize: 25 })).toThrow(
      expect.objectContaining({
        message: 'Invalid query string. pageSize: must be one of 10, 20, 30, 40.',
        issues: [{ path: 'pageSize', message: 'must be one of 10, 20, 30, 40' }],
      }),
    );
  });

  test('a full last page has no next cursor', () => {
    const twenty = Array.from({ length: 20 }, (_, i) =>
      jobOf('env_1', `job_${String(i).padStart(2, '0')}`, 1, { createdAt: i }),
    );
    expect(pageOfJobs(twenty.slice(0, 10), { pageSize: 10 }).nextCursor).toBeNull();
    const first = pageOfJobs(twenty, { pageSize: 10 });
    expect(first.nextCursor).not.toBeNull();
    const second = pageOfJobs(twenty, { pageSize: 10, cursor: first.nextCursor! });
    expect(second.items.map((job) => job.createdAt)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(second.nextCursor).toBeNull();
  });

  test('jobs created in the same instant come by id, descending, whatever order the store gives them in', () => {
    const same = ['job_b', 'job_d', 'job_a', 'job_c'].map((id) => jobOf('env_1', id, 1, { createdAt: 5 }));
    for (const order of [same, [...same].reverse(), [...same].sort((a, b) => (a.id < b.id ? -1 : 1))]) {
      expect(pageOfJobs(order, { pageSize: 10 }).items.map((job) => job.id)).toEqual([
        'job_d',
        'job_c',
        'job_b',
        'job_a',
      ]);
    }
  });

  test('the cursor goes by creation, then id: ids need not follow the creation order', () => {
    // Newer jobs have smaller ids here: a page after the cursor must not bring back a newer job.
    const reversed = Array.from({ length: 25 }, (_, i) =>
      jobOf('env_1', `job_${String(i).padStart(2, '0')}`, 1, { createdAt: 1_000 - Math.floor(i / 2) }),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = pageOfJobs(reversed, { pageSize: 10, cursor });
      seen.push(...page.items.map((job) => job.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && seen.length <= 25);
    expect(seen).toEqual(
      [...reversed].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).map((job) => job.id),
    );
  });
});

describe('ExportJobService: what an answer holds and when a change is refused', () => {
  test('a created job is answered whole: the input, the defaults, its destination, times and version', async () => {
    const { jobs } = await withDestination();
    expect(
      await jobs.create(caller, 'env_1', {
        ...recurring,
        name: 'Every 6 hours',
        identityPriority: ['email', 'identity'],
        asString: true,
        compression: 'none',
      }),
    ).toEqual({
      id: 'job_2',
      name: 'Every 6 hours',
      destinationId: 'dst_1',
      provider: 'AWS',
      type: 'allEvents',
      events: null,
      identityPriority: ['email', 'identity'],
      frequency: { kind: 'recurring', everyHours: 6 },
      format: 'csv',
      asString: true,
      compression: 'none',
      notifyEmails: ['data@acme.example'],
      status: 'PENDING',
      createdAt: '2026-11-23T10:30:00.000Z',
      updatedAt: '2026-11-23T10:30:00.000Z',
      lastRunAt: null,
      stoppedAt: null,
      stoppedReason: null,
      version: 1,
    });
  });

  test('events are kept for selectedEvents only; an unnamed job answers name null', async () => {
    const { jobs } = await withDestination();
    const selected = await jobs.create(caller, 'env_1', { ...recurring, type: 'selectedEvents', events: ['signup'] });
    expect(selected).toMatchObject({ events: ['signup'], name: null });
    expect(await jobs.create(caller, 'env_1', { ...recurring, events: ['signup'] })).toMatchObject({ events: null });
  });

  test('a job id already taken is a 409 and nothing is scheduled or dispatched', async () => {
    const { jobs, jobStore, scheduler, dispatcher } = await withDestination();
    await jobStore.create(jobOf('env_1', 'job_2'));
    await expect(jobs.create(caller, 'env_1', recurring)).rejects.toThrow(
      'Export job job_2 exists; send the request again.',
    );
    await expect(jobs.create(caller, 'env_1', oneTime)).resolves.toMatchObject({ id: 'job_3' });
    expect(scheduler.calls).toEqual([]);
    expect(dispatcher.dispatched).toHaveLength(1);
  });

  test('every job operation needs the enterprise plan', async () => {
    const { jobs } = setup('pro');
    const operations = [
      () => jobs.create(caller, 'env_1', recurring),
      () => jobs.list(caller, 'env_1', { pageSize: 20 }),
      () => jobs.get(caller, 'env_1', 'job_1'),
      () => jobs.update(caller, 'env_1', 'job_1', { format: 'json', version: 1 }),
      () => jobs.stop(caller, 'env_1', 'job_1'),
      () => jobs.runs(caller, 'env_1', 'job_1', 20),
    ];
    for (const operation of operations) {
      const refusal = await operation().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(PlanRequiredError);
      expect((refusal as Error).message).toBe(
        'Export jobs requires the enterprise plan; this organization is on the pro plan.',
      );
    }
  });

  test('a job that does not exist: 404 for get, edit, stop and its runs', async () => {
    const { jobs } = await withDestination();
    for (const operation of [
      () => jobs.get(caller, 'env_1', 'job_9'),
      () => jobs.update(caller, 'env_1', 'job_9', { format: 'json', version: 1 }),
      () => jobs.stop(caller, 'env_1', 'job_9'),
      () => jobs.runs(caller, 'env_1', 'job_9', 20),
    ]) {
      const missing = await operation().catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(NotFoundError);
      expect((missing as Error).message).toBe('Export job job_9 not found.');
    }
  });

  test('the list answers the page of the environment jobs as views', async () => {
    const { jobs } = await withDestination();
    const first = await jobs.create(caller, 'env_1', recurring);
    const second = await jobs.create(caller, 'env_1', oneTime);
    expect(await jobs.list(caller, 'env_1', { pageSize: 10 })).toEqual({ items: [second, first], nextCursor: null });
    expect(await jobs.get(caller, 'env_1', first.id)).toEqual(first);
  });

  test('the refusals of an edit name the state and what to do', async () => {
    const { jobs, jobStore } = await withDestination();
    const once = await jobs.create(caller, 'env_1', oneTime);
    await expect(jobs.update(caller, 'env_1', once.id, { format: 'csv', version: 1 })).rejects.toMatchObject({
      name: 'JobNotEditableError',
      code: 'one_time_not_editable',
      message: 'A one-time export job cannot be edited. Create a new job instead.',
    });
    const job = await jobs.create(caller, 'env_1', recurring);
    const stored = (await jobStore.get('env_1', job.id))!;
    await jobStore.put({ ...stored, status: 'DONE', version: 2 }, 1);
    await expect(jobs.update(caller, 'env_1', job.id, { format: 'json', version: 2 })).rejects.toMatchObject({
      code: 'job_finished',
      message: `Export job ${job.id} is DONE and cannot be edited. Create a new job instead.`,
    });
    const running = await jobs.create(caller, 'env_1', recurring);
    const runningStored = (await jobStore.get('env_1', running.id))!;
    await jobStore.put({ ...runningStored, status: 'RUNNING', version: 2 }, 1);
    await expect(jobs.update(caller, 'env_1', running.id, { format: 'json', version: 1 })).rejects.toMatchObject({
      name: 'StaleJobError',
      message: `Export job ${running.id} was changed since you read it (it is at version 2 now). Reload it, make your change again and send the new version.`,
    });
    await expect(jobs.update(caller, 'env_1', running.id, { format: 'json', version: 2 })).resolves.toMatchObject({
      status: 'RUNNING',
      format: 'json',
      version: 3,
    });
  });

  test('switching between events and profiles is a 400 naming the type the job exports, whatever else is wrong', async () => {
    const { jobs } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    const refusal = await jobs
      .update(caller, 'env_1', job.id, {
        type: 'userProfiles',
        frequency: { kind: 'oneTime', from: '2026-11-01', to: '2026-11-02' },
        version: 1,
      })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ValidationError);
    expect((refusal as ValidationError).message).toBe(
      'Invalid export job. type: cannot switch between events and profiles (the job exports allEvents); create a new job instead; frequency.kind: a recurring job stays recurring; create a one-time job instead.',
    );
    await expect(
      jobs.update(caller, 'env_1', job.id, { type: 'selectedEvents', events: ['signup'], version: 1 }),
    ).resolves.toMatchObject({ type: 'selectedEvents', events: ['signup'] });
    await expect(jobs.update(caller, 'env_1', job.id, { type: 'allEvents', version: 2 })).resolves.toMatchObject({
      type: 'allEvents',
      events: null,
    });
  });

  test('an edit is checked like a creation: its frequency, its destination (whose provider it takes)', async () => {
    const { jobs, destinations } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    await expect(
      jobs.update(caller, 'env_1', job.id, {
        frequency: { kind: 'recurring', everyHours: 6, startDate: '2026-11-22' },
        version: 1,
      }),
    ).rejects.toThrow('frequency.startDate: must be today (2026-11-23) or later');
    await expect(jobs.update(caller, 'env_1', job.id, { destinationId: 'dst_9', version: 1 })).rejects.toThrow(
      'Invalid export job. destinationId: no destination dst_9 in this environment; create one with POST .../destinations.',
    );
    const gcs = await destinations.create(caller, 'env_1', {
      name: 'GCS',
      provider: 'GCP',
      bucket: 'acme',
      region: 'europe-west1',
      auth: { mode: 'accessKey', accessKeyId: 'GOOGKEY0001', secretAccessKey: 'secret-gcs' },
    });
    expect(await jobs.update(caller, 'env_1', job.id, { destinationId: gcs.id, version: 1 })).toMatchObject({
      destinationId: gcs.id,
      provider: 'GCP',
      version: 2,
    });
    expect(await jobs.update(caller, 'env_1', job.id, { format: 'xml', version: 2 })).toMatchObject({
      provider: 'GCP',
    });
  });

  test('an edit saved between the read and the write is a 409 naming the version now', async () => {
    const { jobs, jobStore, clock } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    editedBeforeNextPut(jobStore, job.id, [{ name: 'Theirs' }, { name: 'Theirs again' }]);
    clock.advance(1_000);
    await expect(jobs.update(caller, 'env_1', job.id, { format: 'json', version: 1 })).rejects.toThrow(
      `Export job ${job.id} was changed since you read it (it is at version 3 now).`,
    );
    expect(await jobStore.get('env_1', job.id)).toMatchObject({ name: 'Theirs again', format: 'csv', version: 3 });
  });

  test('a new schedule keeps the start of the job: its start date, or its creation', async () => {
    const { jobs, scheduler, clock } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    clock.advance(DAY);
    await jobs.update(caller, 'env_1', job.id, { frequency: { kind: 'recurring', everyHours: 8 }, version: 1 });
    expect(scheduler.calls[1]).toMatchObject({ op: 'upsertJob', everyHours: 8, startAt: NOW });
    await jobs.update(caller, 'env_1', job.id, {
      frequency: { kind: 'recurring', everyHours: 8, startDate: '2026-11-30' },
      version: 2,
    });
    expect(scheduler.calls[2]).toMatchObject({ everyHours: 8, startAt: Date.parse('2026-11-30T00:00:00Z') });
    await jobs.update(caller, 'env_1', job.id, {
      frequency: { kind: 'recurring', everyHours: 8, startDate: '2026-11-30' },
      version: 3,
    });
    expect(scheduler.calls).toHaveLength(3);
  });
});

describe('ExportJobService: stopping', () => {
  test('a stopped job says when, why and by whom; its answer carries the reason', async () => {
    const { jobs, jobStore, clock } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    clock.advance(60_000);
    const stopped = await jobs.stop(caller, 'env_1', job.id);
    expect(stopped).toEqual({
      ...job,
      status: 'STOPPED',
      updatedAt: '2026-11-23T10:31:00.000Z',
      stoppedAt: '2026-11-23T10:31:00.000Z',
      stoppedReason: 'Stopped by a user.',
      version: 2,
    });
    expect(await jobStore.get('env_1', job.id)).toMatchObject({ stoppedBy: 'user', stoppedAt: NOW + 60_000 });
  });

  test('a one-time job is stopped without a schedule to delete; a DONE job has nothing to stop', async () => {
    const { jobs, jobStore, scheduler } = await withDestination();
    const once = await jobs.create(caller, 'env_1', oneTime);
    expect(await jobs.stop(caller, 'env_1', once.id)).toMatchObject({ status: 'STOPPED' });
    expect(scheduler.calls).toEqual([]);
    const done = await jobs.create(caller, 'env_1', oneTime);
    const stored = (await jobStore.get('env_1', done.id))!;
    await jobStore.put({ ...stored, status: 'DONE', version: 2 }, 1);
    await expect(jobs.stop(caller, 'env_1', done.id)).rejects.toMatchObject({
      name: 'JobNotEditableError',
      code: 'job_finished',
      message: `Export job ${done.id} is DONE: there is nothing to stop.`,
    });
    expect(await jobStore.get('env_1', done.id)).toMatchObject({ status: 'DONE', version: 2 });
  });

  test('an edit saved between the read and the write: the stop is tried again on the new version and keeps the edit', async () => {
    const { jobs, jobStore, scheduler } = await withDestination();
    const job = await jobs.create(caller, 'env_1', recurring);
    editedBeforeNextPut(jobStore, job.id, [{ format: 'json' }]);
    expect(await jobs.stop(caller, 'env_1', job.id)).toMatchObject({ status: 'STOPPED', format: 'json', version: 3 });
    expect(scheduler.calls.filter((call) => call.op === 'removeJob')).toEqual([
      { op: 'removeJob', environmentId: 'env_1', jobId: job.id },
    ]);
  });
});

describe('ExportJobService: the job run seam', () => {
  test('once wired, runJob hands the request and its time limit to the runner and answers its outcome', async () => {
    const context = setup();
    const handed: unknown[] = [];
    const outcome: Awaited<ReturnType<JobRunner>> = { outcome: 'skipped', reason: 'The job is STOPPED.' };
    const runJob: JobRunner = (request, limit) => {
      handed.push([request, limit]);
      return Promise.resolve(outcome);
    };
    const jobs = new ExportJobService({ ...context.jobsDependencies, runJob });
    const request = { environmentId: 'env_1', jobId: 'job_1', scheduledTime: NOW };
    const limit: RunTimeLimit = { timeLimitMs: 60_000 };
    expect(await jobs.runJob(request, limit)).toBe(outcome);
    expect(handed).toEqual([[request, limit]]);
  });
});

describe('checkFrequency', () => {
  const refusal = (frequency: ExportJobFrequency) => {
    try {
      checkFrequency(frequency, NOW);
    } catch (error) {
      return (error as ValidationError).issues;
    }
    return [];
  };

  test('one-time: from 60 days back to today, to on or after from', () => {
    expect(refusal({ kind: 'oneTime', from: '2026-09-24', to: '2026-11-23' })).toEqual([]);
    expect(refusal({ kind: 'oneTime', from: '2026-11-10', to: '2026-11-10' })).toEqual([]);
    expect(refusal({ kind: 'oneTime', from: '2026-09-23', to: '2026-11-24' })).toEqual([
      { path: 'frequency.from', message: 'must be within the last 60 days: 2026-09-24 or later' },
      { path: 'frequency.to', message: 'must not be in the future: 2026-11-23 or earlier' },
    ]);
    expect(refusal({ kind: 'oneTime', from: '2026-11-10', to: '2026-11-09' })).toEqual([
      { path: 'frequency.to', message: 'must be on or after frequency.from' },
    ]);
  });

  test('recurring: a start date from today to a year from today', () => {
    expect(refusal({ kind: 'recurring', everyHours: 4 })).toEqual([]);
    expect(refusal({ kind: 'recurring', everyHours: 4, startDate: '2026-11-23' })).toEqual([]);
    expect(refusal({ kind: 'recurring', everyHours: 4, startDate: '2027-11-23' })).toEqual([]);
    expect(refusal({ kind: 'recurring', everyHours: 4, startDate: '2027-11-24' })).toEqual([
      { path: 'frequency.startDate', message: 'must be within a year from today' },
    ]);
    expect(refusal({ kind: 'recurring', everyHours: 4, startDate: '2026-11-22' })).toEqual([
      { path: 'frequency.startDate', message: 'must be today (2026-11-23) or later' },
    ]);
  });

  test('the refusal names every issue in one message', () => {
    expect(() => checkFrequency({ kind: 'oneTime', from: '2026-09-01', to: '2026-08-31' }, NOW)).toThrow(
      'Invalid export job. frequency.from: must be within the last 60 days: 2026-09-24 or later; frequency.to: must be on or after frequency.from.',
    );
  });
});

describe('DestinationService: refusals the API answers, and races', () => {
  const refusalOf = (attempt: Promise<unknown>) =>
    attempt.then(
      () => undefined,
      (error: unknown) => error,
    );

  test('a GCP destination by bucket policy: 400 at auth.mode, saying to use an HMAC key', async () => {
    const { destinations } = setup();
    const refusal = await refusalOf(
      destinations.create(caller, 'env_1', {
        name: 'GCS',
        provider: 'GCP',
        bucket: 'acme',
        region: 'europe-west1',
        auth: { mode: 'bucketPolicy' },
      }),
    );
    expect(refusal).toMatchObject({
      message:
        'Invalid destination. auth.mode: Google Cloud Storage does not apply AWS bucket policies; use an HMAC key (mode accessKey).',
      issues: [{ path: 'auth.mode', message: 'bucketPolicy is for AWS S3 buckets; use accessKey with GCP' }],
    });
  });

  test('a new key id without its secret: 400 at auth.secretAccessKey, saying why', async () => {
    const { destinations, gateway } = setup();
    const refusal = await refusalOf(
      destinations.create(caller, 'env_1', {
        ...accessKeyDestination,
        auth: { mode: 'accessKey', accessKeyId: 'AKIAEXAMPLE0001' },
      }),
    );
    expect(refusal).toMatchObject({
      message: 'Invalid destination. auth.secretAccessKey: required with a new access key id.',
      issues: [
        {
          path: 'auth.secretAccessKey',
          message: 'required with a new accessKeyId: the stored secret belongs to the previous key',
        },
      ],
    });
    expect(gateway.validations).toEqual([]);
  });

  test('the bucket-policy query needs a bucket name: 400 at bucket', async () => {
    const { destinations } = setup();
    for (const bucket of [undefined, 'Not A Bucket']) {
      expect(await refusalOf(destinations.bucketPolicy(caller, 'env_1', bucket))).toMatchObject({
        message: 'Invalid query string. bucket: send ?bucket=<name>: 3-63 lowercase letters, digits, dots or dashes.',
        issues: [{ path: 'bucket', message: 'send ?bucket=<name>: 3-63 lowercase letters, digits, dots or dashes' }],
      });
    }
  });

  test('the in-use refusal names every active job; the raw export one names none', async () => {
    const { destinations, jobs } = await withDestination();
    const first = await jobs.create(caller, 'env_1', recurring);
    const second = await jobs.create(caller, 'env_1', recurring);
    expect((await refusalOf(destinations.delete(caller, 'env_1', 'dst_1'))) as Error).toMatchObject({
      message: `Destination dst_1 is used by active export jobs ${first.id}, ${second.id}. Stop those jobs (POST .../export-jobs/{id}/stop) first.`,
    });
    expect(new RawExportDestinationInUseError('dst_1').jobIds).toEqual([]);
  });

  test('without a raw export wired, a destination no job uses is deleted', async () => {
    const context = setup();
    const destinations = new DestinationService({
      tenants: fakeTenant('enterprise', 'env_1'),
      destinations: context.destinationStore,
      jobs: context.jobStore,
      sealer: new FakeSealer(),
      gateway: context.gateway,
      clock: context.clock,
      newId: () => 'dst_1',
      exportRoleArn: ROLE,
    });
    await destinations.create(caller, 'env_1', policyDestination);
    await destinations.delete(caller, 'env_1', 'dst_1');
    expect(await context.destinationStore.list('env_1')).toEqual([]);
  });

  test('an id already taken is a 409; the list answers every destination as a view', async () => {
    const { destinations, destinationStore } = setup();
    const first = await destinations.create(caller, 'env_1', accessKeyDestination);
    await destinationStore.create({ ...(await destinationStore.get('env_1', first.id))!, id: 'dst_2' });
    await expect(destinations.create(caller, 'env_1', policyDestination)).rejects.toThrow(
      'Destination dst_2 exists; send the request again.',
    );
    const third = await destinations.create(caller, 'env_1', policyDestination);
    const listed = await destinations.list(caller, 'env_1');
    expect(listed).toHaveLength(3);
    expect(listed).toEqual(expect.arrayContaining([first, third]));
  });

  test('a PUT keeps the bucket URL of an AWS destination', async () => {
    const { destinations } = setup();
    const saved = await destinations.create(caller, 'env_1', accessKeyDestination);
    const bucketUrl = 'https://acme-exports.s3.eu-west-1.amazonaws.com/other';
    expect(
      await destinations.update(caller, 'env_1', saved.id, { ...accessKeyDestination, bucketUrl, version: 1 }),
    ).toMatchObject({ bucketUrl, key: 'other', version: 2 });
  });

  test('a save or a delete racing another save: 409 naming the version now', async () => {
    const { destinations, destinationStore } = setup();
    const saved = await destinations.create(caller, 'env_1', accessKeyDestination);
    const stored = (await destinationStore.get('env_1', saved.id))!;
    // Two saves by someone else land between the read and the write.
    const put = destinationStore.put.bind(destinationStore);
    destinationStore.put = async (item, expectedVersion) => {
      destinationStore.put = put;
      await put({ ...stored, name: 'Theirs', version: 2 }, 1);
      await put({ ...stored, name: 'Theirs', version: 3 }, 2);
      return put(item, expectedVersion);
    };
    await expect(
      destinations.update(caller, 'env_1', saved.id, { ...accessKeyDestination, name: 'Mine', version: 1 }),
    ).rejects.toThrow(`Destination ${saved.id} was changed since you read it (it is at version 3 now).`);
    const remove = destinationStore.delete.bind(destinationStore);
    destinationStore.delete = async (environmentId, id, expectedVersion) => {
      await destinationStore.put({ ...stored, name: 'Theirs again', version: 4 }, 3);
      return remove(environmentId, id, expectedVersion);
    };
    await expect(destinations.delete(caller, 'env_1', saved.id)).rejects.toMatchObject({
      name: 'StaleDestinationError',
      message: expect.stringContaining('(it is at version 4 now)'),
    });
    expect(await destinationStore.get('env_1', saved.id)).toMatchObject({ name: 'Theirs again', version: 4 });
  });

  test('a destination deleted between the read and the write: the save or the second delete answers it is not found (404), not a crash', async () => {
    const { destinations, destinationStore } = setup();
    const saved = await destinations.create(caller, 'env_1', accessKeyDestination);
    const remove = destinationStore.delete.bind(destinationStore);
    const put = destinationStore.put.bind(destinationStore);
    destinationStore.put = async (item, expectedVersion) => {
      await remove('env_1', saved.id, 1);
      return put(item, expectedVersion);
    };
    const saveRefusal = await destinations
      .update(caller, 'env_1', saved.id, { ...accessKeyDestination, version: 1 })
      .catch((error: unknown) => error);
    expect(saveRefusal).toBeInstanceOf(NotFoundError);
    expect(saveRefusal).toHaveProperty('message', `Destination ${saved.id} not found.`);
    destinationStore.put = put;
    const again = await destinations.create(caller, 'env_1', accessKeyDestination);
    destinationStore.delete = async (environmentId, id, expectedVersion) => {
      await remove(environmentId, id, expectedVersion);
      return remove(environmentId, id, expectedVersion);
    };
    const deleteRefusal = await destinations.delete(caller, 'env_1', again.id).catch((error: unknown) => error);
    expect(deleteRefusal).toBeInstanceOf(NotFoundError);
    expect(deleteRefusal).toHaveProperty('message', `Destination ${again.id} not found.`);
  });
});
