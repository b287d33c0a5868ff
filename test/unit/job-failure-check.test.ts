/**
 * The failure check's export-job part with in-memory fakes: the three emails to the job's notifyEmails
 * over 72 hours of customer-side failures, then STOPPED without a schedule; a job stopped by a user
 * ends its sequence silently; an unsent email is sent by the next check; overlapping checks send each
 * email once; the bucket-policy wording.
 */
import { JobFailureCheck, JOB_STOPPED_REASON, jobPageUrl } from '../../lambdas/core/job-failure-check';
import type { ExportJob, NamedDestination } from '../../lambdas/ports';
import { destinationOf, jobOf } from '../support/export-job-store-contracts';
import {
  FakeClock,
  FakeDestinationStore,
  FakeExportJobStore,
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
  const check = new JobFailureCheck({
    jobs,
    destinations,
    tenants,
    scheduler,
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
  return { check, jobs, scheduler, mailer };
}

test('email 1 at the first check, email 2 after 24 h, STOPPED and email 3 at 72 h, each once, to the notifyEmails', async () => {
  const { check, jobs, scheduler, mailer } = await setup();
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
  });
  expect(await jobs.get('env1', 'job_1')).toMatchObject({
    status: 'STOPPED',
    stoppedBy: 'failureCheck',
    stoppedReason: JOB_STOPPED_REASON,
  });
  expect(scheduler.jobSchedules.has('job_1')).toBe(false);
  expect(await check.check(F + 73 * HOUR)).toEqual({ examined: 0, emailsSent: [], stopped: [] });

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
  await Promise.all(Array.from({ length: 5 }, () => check.check(F + HOUR)));
  await Promise.all(Array.from({ length: 5 }, () => check.check(F + 72 * HOUR)));
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
