/**
 * The failure check's export-job part with in-memory fakes: the three emails to the job's notifyEmails
 * over 72 hours of customer-side failures, then STOPPED without a schedule; a job stopped by a user
 * ends its sequence silently; an unsent email is sent by the next check; overlapping checks send each
 * email once; the bucket-policy wording; a failing one-time job run again at each check until it
 * succeeds or is stopped.
 */
import { JobFailureCheck, JOB_STOPPED_REASON, jobPageUrl } from '../../lambdas/core/job-failure-check';
import type { ExportJob, NamedDestination } from '../../lambdas/ports';
import { destinationOf, jobOf } from '../support/export-job-store-contracts';
import {
  FakeClock,
  FakeDestinationStore,
  FakeExportJobStore,
  FakeJobDispatcher,
  FakeMailer,
  FakeScheduler,
  fakeTenant,
} from '../support/fakes';

const HOUR = 3_600_000;
const F = Date.parse('2026-11-24T06:10:00Z');

async function setup(job: Partial<ExportJob> = {}, auth?: NamedDestination['auth']) {
  const tenants = fakeTenant();
  const destinations = new FakeDestinationStore();
  await destinations.create(destinationOf('env1', 'dst_1', 1, auth && { auth }));
  const jobs = new FakeExportJobStore();
  await jobs.create(
    jobOf('env1', 'job_1', 1, {
      name: 'Hourly lake',
      destinationId: 'dst_1',
      notifyEmails: ['data@acme.example', 'ops@acme.example'],
      ...job,
    }),
  );
  const scheduler = new FakeScheduler();
  await scheduler.upsertJob('env1', 'job_1', 6, 0);
  const mailer = new FakeMailer();
  const clock = new FakeClock(F);
  const dispatcher = new FakeJobDispatcher();
  const check = new JobFailureCheck({
    jobs,
    destinations,
    tenants,
    scheduler,
    dispatcher,
    mailer,
    clock,
    dashboardUrl: 'https://app.example/',
  });
  await jobs.recordRunOutcome('env1', 'job_1', {
    runId: '20261124060000',
    status: 'failed',
    finishedAt: F,
    failureClass: 'customer',
    errorCode: 'access_denied',
  });
  return { check, jobs, scheduler, mailer, tenants, destinations, dispatcher };
}

test('email 1 at the first check, email 2 after 24 h, STOPPED and email 3 at 72 h, each once, to the notifyEmails', async () => {
  const { check, jobs, scheduler, mailer, dispatcher } = await setup();
  expect((await check.check(F + HOUR)).emailsSent).toEqual([{ environmentId: 'env1', jobId: 'job_1', email: 1 }]);
  await check.check(F + 2 * HOUR);
  await check.check(F + 23 * HOUR);
  expect((await check.check(F + 24 * HOUR)).emailsSent).toEqual([{ environmentId: 'env1', jobId: 'job_1', email: 2 }]);
  await check.check(F + 48 * HOUR);
  expect(scheduler.jobSchedules.has('job_1')).toBe(true);
  const last = await check.check(F + 72 * HOUR);
  expect(last).toEqual({
    examined: 1,
    emailsSent: [{ environmentId: 'env1', jobId: 'job_1', email: 3 }],
    stopped: [{ environmentId: 'env1', jobId: 'job_1' }],
    retried: [],
  });
  // A recurring job has its schedule to try again.
  expect(dispatcher.dispatched).toEqual([]);
  expect(await jobs.get('env1', 'job_1')).toMatchObject({
    status: 'STOPPED',
    stoppedBy: 'failureCheck',
    stoppedReason: JOB_STOPPED_REASON,
  });
  expect(scheduler.jobSchedules.has('job_1')).toBe(false);
  expect(await check.check(F + 73 * HOUR)).toEqual({ examined: 0, emailsSent: [], stopped: [], retried: [] });

  expect(mailer.sent.map((mail) => mail.subject)).toEqual([
    'Export job "Hourly lake" of Production is failing',
    'Reminder: export job "Hourly lake" of Production still failing, stops 2026-11-27 06:10 UTC',
    'Export job "Hourly lake" of Production stopped',
  ]);
  for (const mail of mailer.sent) {
    expect(mail.to).toEqual(['data@acme.example', 'ops@acme.example']);
    expect(mail.text).toContain(jobPageUrl('https://app.example/', 'env1', 'job_1'));
    expect(mail.text).toContain('AWS bucket "acme-exports" (folder "events/")');
  }
  expect(mailer.sent[2].text).toMatch(/has now been stopped\. A stopped job does not run again/);
  // A recurring job's emails promise no hourly retry: its schedule runs it.
  for (const mail of mailer.sent) expect(mail.text).not.toContain('runs again every hour');
});

test('a job a user stopped, or one that is gone, ends its sequence without an email', async () => {
  const { check, jobs, mailer } = await setup({ status: 'STOPPED', stoppedBy: 'user' });
  expect((await check.check(F + HOUR)).emailsSent).toEqual([]);
  expect(await check.check(F + 2 * HOUR)).toMatchObject({ examined: 0 });
  await jobs.recordRunOutcome('env1', 'job_gone', {
    runId: '20261124060000',
    status: 'failed',
    finishedAt: F,
    failureClass: 'customer',
    errorCode: 'bucket_not_found',
  });
  await check.check(F + HOUR);
  expect(await check.check(F + 2 * HOUR)).toMatchObject({ examined: 0 });
  expect(mailer.attempts).toEqual([]);
});

test('a missed first email goes out before the reminder; an email that failed to send is sent by the next check', async () => {
  const { check, jobs, mailer } = await setup();
  mailer.failNext = 1;
  expect((await check.check(F + 30 * HOUR)).emailsSent).toEqual([]);
  expect((await check.check(F + 31 * HOUR)).emailsSent.map((sent) => sent.email)).toEqual([1]);
  expect((await check.check(F + 32 * HOUR)).emailsSent.map((sent) => sent.email)).toEqual([2]);
  mailer.failNext = 1;
  expect((await check.check(F + 72 * HOUR)).stopped).toEqual([]);
  // Stopped already, the announcement still owed.
  expect((await jobs.get('env1', 'job_1'))?.status).toBe('STOPPED');
  expect((await check.check(F + 73 * HOUR)).stopped).toEqual([{ environmentId: 'env1', jobId: 'job_1' }]);
  expect(mailer.sent.map((mail) => mail.subject.split(' ')[0])).toEqual(['Export', 'Reminder:', 'Export']);
});

test('five overlapping checks send each email once', async () => {
  const { check, mailer } = await setup();
  const first = await Promise.all(Array.from({ length: 5 }, () => check.check(F + HOUR)));
  const last = await Promise.all(Array.from({ length: 5 }, () => check.check(F + 72 * HOUR)));
  // Only the check that sent an email reports it (and the stop).
  expect(first.flatMap((result) => result.emailsSent)).toEqual([{ environmentId: 'env1', jobId: 'job_1', email: 1 }]);
  expect(last.flatMap((result) => result.emailsSent)).toEqual([{ environmentId: 'env1', jobId: 'job_1', email: 3 }]);
  expect(last.flatMap((result) => result.stopped)).toEqual([{ environmentId: 'env1', jobId: 'job_1' }]);
  expect(mailer.sent.map((mail) => mail.subject)).toEqual([
    'Export job "Hourly lake" of Production is failing',
    'Export job "Hourly lake" of Production stopped',
  ]);
});

test("a bucket-policy destination's refusal is worded for the policy", async () => {
  const { check, mailer } = await setup({}, { mode: 'bucketPolicy' });
  await check.check(F + HOUR);
  expect(mailer.sent[0].text).toMatch(/its bucket policy no longer grants the service's export role s3:PutObject/);
});

test('the sequence starts at F: a check whose clock is behind F sends nothing, one at F sends email 1', async () => {
  const { check, mailer } = await setup();
  expect(await check.check(F - 1)).toEqual({ examined: 1, emailsSent: [], stopped: [], retried: [] });
  expect(mailer.attempts).toEqual([]);
  expect((await check.check(F)).emailsSent).toEqual([{ environmentId: 'env1', jobId: 'job_1', email: 1 }]);
});

test('a job that finished (DONE) ends its sequence without an email', async () => {
  const { check, jobs, mailer } = await setup();
  const job = (await jobs.get('env1', 'job_1'))!;
  expect(await jobs.put({ ...job, status: 'DONE', version: job.version + 1 }, job.version)).toBe(true);
  expect((await check.check(F + HOUR)).emailsSent).toEqual([]);
  expect(await check.check(F + 2 * HOUR)).toMatchObject({ examined: 0 });
  expect(mailer.attempts).toEqual([]);
});

/** The check reads the job, then `change` happens before its stop (a user's stop or a deletion racing it). */
function changeAfterFirstRead(jobs: FakeExportJobStore, change: (job: ExportJob) => Promise<void>) {
  const read = jobs.get.bind(jobs);
  let changed = false;
  jobs.get = async (environmentId, id) => {
    const job = await read(environmentId, id);
    if (!changed && job) {
      changed = true;
      await change(job);
    }
    return job;
  };
}

test.each([
  [
    'stopped by a user',
    async (jobs: FakeExportJobStore, job: ExportJob) => {
      const stopped: ExportJob = { ...job, status: 'STOPPED', stoppedBy: 'user', version: job.version + 1 };
      expect(await jobs.put(stopped, job.version)).toBe(true);
    },
  ],
  [
    'deleted',
    async (jobs: FakeExportJobStore, job: ExportJob) => {
      expect(await jobs.delete(job.environmentId, job.id, job.version)).toBe(true);
    },
  ],
])('a job %s while the check stops it gets no email 3, and its sequence ends', async (_, change) => {
  const { check, jobs, mailer } = await setup();
  changeAfterFirstRead(jobs, (job) => change(jobs, job));
  expect(await check.check(F + 72 * HOUR)).toEqual({ examined: 1, emailsSent: [], stopped: [], retried: [] });
  expect(await check.check(F + 73 * HOUR)).toMatchObject({ examined: 0 });
  expect(mailer.attempts).toEqual([]);
});

test('the email still goes out when the environment or the destination is gone, naming the environment by id', async () => {
  const { check, tenants, destinations, mailer } = await setup();
  tenants.environments.delete('env1');
  expect(await destinations.delete('env1', 'dst_1', 1)).toBe(true);
  expect((await check.check(F + HOUR)).emailsSent).toEqual([{ environmentId: 'env1', jobId: 'job_1', email: 1 }]);
  expect(mailer.sent[0].subject).toBe('Export job "Hourly lake" of env1 is failing');
});

test('the job page link: the dashboard URL without its trailing slashes, the ids encoded', () => {
  expect(jobPageUrl('https://app.example//', 'env 1', 'job/1')).toBe(
    'https://app.example/environments/env%201/export-jobs/job%2F1',
  );
  expect(jobPageUrl('https://app.example/acme', 'env1', 'job_1')).toBe(
    'https://app.example/acme/environments/env1/export-jobs/job_1',
  );
});

describe('a failing one-time job', () => {
  const oneTime = {
    frequency: { kind: 'oneTime', from: '2026-11-20', to: '2026-11-22' },
    createdAt: F - 10 * 60_000,
  } as const;
  const again = { environmentId: 'env1', jobId: 'job_1', scheduledTime: F - 10 * 60_000 };

  it('runs again at each check, with its first scheduled time, and its emails say so', async () => {
    const { check, mailer, dispatcher } = await setup(oneTime);
    expect((await check.check(F + HOUR)).retried).toEqual([{ environmentId: 'env1', jobId: 'job_1' }]);
    expect((await check.check(F + 2 * HOUR)).retried).toEqual([{ environmentId: 'env1', jobId: 'job_1' }]);
    await check.check(F + 24 * HOUR);
    expect(dispatcher.dispatched).toEqual([again, again, again]);
    expect(mailer.sent).toHaveLength(2);
    for (const mail of mailer.sent) {
      expect(mail.text).toContain(
        'The job runs again every hour until then: once the destination is fixed, it completes.',
      );
    }
  });

  it('is not run again while a run is in progress, once it is done, or when it is stopped', async () => {
    const { check, jobs, mailer, dispatcher } = await setup(oneTime);
    const job = (await jobs.get('env1', 'job_1'))!;
    await jobs.put({ ...job, status: 'RUNNING', version: 2 }, 1);
    expect((await check.check(F + HOUR)).retried).toEqual([]);
    const running = (await jobs.get('env1', 'job_1'))!;
    await jobs.put({ ...running, status: 'PENDING', version: 3 }, 2);
    expect((await check.check(F + 72 * HOUR)).stopped).toEqual([{ environmentId: 'env1', jobId: 'job_1' }]);
    expect(await check.check(F + 73 * HOUR)).toMatchObject({ examined: 0, retried: [] });
    expect(dispatcher.dispatched).toEqual([]);
    expect(mailer.sent.at(-1)?.text).not.toContain('runs again');

    const done = await setup({ ...oneTime, status: 'DONE' });
    expect((await done.check.check(F + HOUR)).retried).toEqual([]);
    expect(done.dispatcher.dispatched).toEqual([]);
  });
});
