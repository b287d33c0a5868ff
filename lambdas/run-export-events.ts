/**
 * The run-export function's event contract, in one place: what the API's dispatcher (asynchronous
 * invocation) and the EventBridge Scheduler schedules send, and what the handler accepts.
 *
 * - `manual-export`: a manual export job, dispatched by the API.
 * - `scheduled-export`: an environment's automatic export, fired by its schedule.
 * - `job-run`: a one-time export job's run, dispatched by the API when the job is created, and again
 *   by the hourly failure check while it fails on the customer's side.
 * - `scheduled-job-run`: a recurring export job's run, fired by the job's schedule.
 * - `raw-export`: an environment's raw revisions export, fired by its schedule every 12 hours.
 *
 * A schedule's input carries {@link SCHEDULED_TIME_PLACEHOLDER}, which EventBridge Scheduler replaces
 * with the invocation's nominal time (ISO 8601): a late or retried invocation is for the same instant.
 */
import { z } from 'zod';
import { validate } from './http/validation';
import type { JobRunRequest, ManualExportRequest } from './ports';

/** Replaced by EventBridge Scheduler, in the target's input, with the invocation's scheduled time. */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';

const id = z.string().min(1);
/** ISO 8601 with an offset (EventBridge Scheduler sends `2026-03-02T00:00:00Z`). */
const instant = z.iso.datetime({ offset: true });

const manualExportEvent = z.object({ kind: z.literal('manual-export'), environmentId: id, jobId: id });
const scheduledExportEvent = z.object({
  kind: z.literal('scheduled-export'),
  environmentId: id,
  scheduledTime: instant,
});
const jobRunEvent = z.object({ kind: z.literal('job-run'), environmentId: id, jobId: id, scheduledTime: instant });
const scheduledJobRunEvent = z.object({
  kind: z.literal('scheduled-job-run'),
  environmentId: id,
  jobId: id,
  scheduledTime: instant,
});
const rawExportEvent = z.object({ kind: z.literal('raw-export'), environmentId: id, scheduledTime: instant });

export const runExportEvent = z.discriminatedUnion('kind', [
  manualExportEvent,
  scheduledExportEvent,
  jobRunEvent,
  scheduledJobRunEvent,
  rawExportEvent,
]);

export type RunExportEvent = z.infer<typeof runExportEvent>;
export type ManualExportEvent = z.infer<typeof manualExportEvent>;
export type JobRunEvent = z.infer<typeof jobRunEvent> | z.infer<typeof scheduledJobRunEvent>;

/** The event as it reaches the handler; a ValidationError (not retried usefully, so it fails loudly) otherwise. */
export const parseRunExportEvent = (event: unknown): RunExportEvent =>
  validate(runExportEvent, event, 'run-export event');

export const isJobRunEvent = (event: RunExportEvent): event is JobRunEvent =>
  event.kind === 'job-run' || event.kind === 'scheduled-job-run';

/** A manual export job, for the API's asynchronous invocation. */
export const toManualExportEvent = (request: ManualExportRequest): ManualExportEvent => ({
  kind: 'manual-export',
  environmentId: request.environmentId,
  jobId: request.jobId,
});

/** A one-time job's run, for the API's asynchronous invocation. */
export const toJobRunEvent = (request: JobRunRequest): JobRunEvent => ({
  kind: 'job-run',
  environmentId: request.environmentId,
  jobId: request.jobId,
  scheduledTime: new Date(request.scheduledTime).toISOString(),
});

/** A schedule's input: valid once EventBridge Scheduler substitutes the placeholder with the time. */
type WithTimePlaceholder<Event> = Omit<Event, 'scheduledTime'> & { scheduledTime: typeof SCHEDULED_TIME_PLACEHOLDER };
export type ScheduleInput =
  | WithTimePlaceholder<z.infer<typeof scheduledExportEvent>>
  | WithTimePlaceholder<z.infer<typeof scheduledJobRunEvent>>
  | WithTimePlaceholder<z.infer<typeof rawExportEvent>>;

export const scheduledExportInput = (environmentId: string): ScheduleInput => ({
  kind: 'scheduled-export',
  environmentId,
  scheduledTime: SCHEDULED_TIME_PLACEHOLDER,
});

export const scheduledJobRunInput = (environmentId: string, jobId: string): ScheduleInput => ({
  kind: 'scheduled-job-run',
  environmentId,
  jobId,
  scheduledTime: SCHEDULED_TIME_PLACEHOLDER,
});

export const rawExportInput = (environmentId: string): ScheduleInput => ({
  kind: 'raw-export',
  environmentId,
  scheduledTime: SCHEDULED_TIME_PLACEHOLDER,
});

/** The run a job-run event asks for: the instant it is for, epoch ms. */
export const toJobRunRequest = (event: JobRunEvent): JobRunRequest => ({
  environmentId: event.environmentId,
  jobId: event.jobId,
  scheduledTime: Date.parse(event.scheduledTime),
});
