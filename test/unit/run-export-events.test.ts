import {
  isJobRunEvent,
  parseRunExportEvent,
  SCHEDULED_TIME_PLACEHOLDER,
  scheduledExportInput,
  scheduledJobRunInput,
  toJobRunEvent,
  toJobRunRequest,
  toManualExportEvent,
} from '../../lambdas/run-export-events';

/** What EventBridge Scheduler delivers: the input with the placeholder replaced by the scheduled time. */
const fired = (input: object, time: string) =>
  JSON.parse(JSON.stringify(input).replace(SCHEDULED_TIME_PLACEHOLDER, time));

describe('run-export events', () => {
  it('a one-time job run dispatched by the API parses back to the same run request', () => {
    const request = { environmentId: 'env_1', jobId: 'job_1', scheduledTime: Date.parse('2026-03-02T10:11:12.345Z') };
    const event = parseRunExportEvent(JSON.parse(JSON.stringify(toJobRunEvent(request))));
    expect(event).toEqual({
      kind: 'job-run',
      environmentId: 'env_1',
      jobId: 'job_1',
      scheduledTime: '2026-03-02T10:11:12.345Z',
    });
    expect(isJobRunEvent(event) && toJobRunRequest(event)).toEqual(request);
  });

  it("a recurring job's schedule input is a scheduled job run once the time is in; the run is for that time", () => {
    const event = parseRunExportEvent(fired(scheduledJobRunInput('env_1', 'job_1'), '2026-03-02T04:00:00Z'));
    expect(event).toEqual({
      kind: 'scheduled-job-run',
      environmentId: 'env_1',
      jobId: 'job_1',
      scheduledTime: '2026-03-02T04:00:00Z',
    });
    expect(isJobRunEvent(event) && toJobRunRequest(event)).toEqual({
      environmentId: 'env_1',
      jobId: 'job_1',
      scheduledTime: Date.parse('2026-03-02T04:00:00Z'),
    });
  });

  it('an automatic export schedule input and a manual export are not job runs', () => {
    const scheduled = parseRunExportEvent(fired(scheduledExportInput('env_1'), '2026-03-02T00:00:00Z'));
    expect(scheduled).toEqual({
      kind: 'scheduled-export',
      environmentId: 'env_1',
      scheduledTime: '2026-03-02T00:00:00Z',
    });
    const manual = parseRunExportEvent(toManualExportEvent({ environmentId: 'env_1', jobId: 'exp_1' }));
    expect([scheduled, manual].map(isJobRunEvent)).toEqual([false, false]);
  });

  it.each([
    ['an unknown kind', { kind: 'raw-export', environmentId: 'env_1' }],
    ['a schedule input whose time was not put in', scheduledJobRunInput('env_1', 'job_1')],
    ['a job run without its job', { kind: 'job-run', environmentId: 'env_1', scheduledTime: '2026-03-02T04:00:00Z' }],
    ['an empty environment', { kind: 'manual-export', environmentId: '', jobId: 'exp_1' }],
  ])('refuses %s with a ValidationError', (_case, event) => {
    expect(() => parseRunExportEvent(event)).toThrow(
      expect.objectContaining({ name: 'ValidationError', message: expect.stringMatching(/^Invalid run-export event/) }),
    );
  });
});
