/**
 * The export jobs pages' logic, apart from their views: the listing's filters in the page's query
 * string (so a reload or a shared link keeps them), the job form and the bodies it sends, what the
 * rules let a user do with a job, and where each API error belongs.
 */
import type { ExportJobRunView, ExportJobView } from '../../../lambdas/core/export-jobs';
import type { ExportJobFormat, ExportJobStatus, ExportJobType, IdentityKind } from '../../../lambdas/ports';
import type { ApiError } from '../api';
import { placeErrors, type PlacedErrors } from '../form-errors';
import { parseEmails, PROVIDERS, type Provider } from './data-export-form';

export type { ExportJobRunView, ExportJobView };

export const JOB_TYPES: readonly { value: ExportJobType; label: string }[] = [
  { value: 'allEvents', label: 'All events' },
  { value: 'selectedEvents', label: 'Selected events' },
  { value: 'userProfiles', label: 'User profiles' },
];
export const FORMATS: readonly { value: ExportJobFormat; label: string }[] = [
  { value: 'json', label: 'JSON' },
  { value: 'xml', label: 'XML' },
  { value: 'csv', label: 'CSV' },
  { value: 'parquet', label: 'Parquet' },
];
export const STATUSES: readonly ExportJobStatus[] = ['PENDING', 'RUNNING', 'DONE', 'STOPPED'];
export const FREQUENCIES = [
  { value: 'oneTime', label: 'One time' },
  { value: 'recurring', label: 'Recurring' },
] as const;
export const IDENTITIES: readonly IdentityKind[] = ['identity', 'email', 'phone'];
export const PAGE_SIZES = [10, 20, 30, 40] as const;
export const DEFAULT_PAGE_SIZE = 20;

export type PageSize = (typeof PAGE_SIZES)[number];
export type Frequency = (typeof FREQUENCIES)[number]['value'];

/** The listing's state, as its query string keeps it. */
export interface JobFilters {
  provider?: Provider;
  type?: ExportJobType;
  format?: ExportJobFormat;
  status?: ExportJobStatus;
  frequency?: Frequency;
  /** A UTC day, `YYYY-MM-DD`: jobs whose last run started that day. */
  exportedOn?: string;
  pageSize: PageSize;
  /** The API's nextCursor of the page before; absent on the first page. */
  cursor?: string;
}

export type FilterName = 'provider' | 'type' | 'format' | 'status' | 'frequency';

const FILTER_VALUES: Record<FilterName, readonly string[]> = {
  provider: PROVIDERS,
  type: JOB_TYPES.map((type) => type.value),
  format: FORMATS.map((format) => format.value),
  status: STATUSES,
  frequency: FREQUENCIES.map((frequency) => frequency.value),
};
export const FILTER_NAMES = Object.keys(FILTER_VALUES) as FilterName[];

const UTC_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The filters a query string names; a value the listing does not offer is dropped rather than sent. */
export function filtersFromSearch(search: string): JobFilters {
  const params = new URLSearchParams(search);
  const filters: JobFilters = { pageSize: DEFAULT_PAGE_SIZE };
  for (const name of FILTER_NAMES) {
    const value = params.get(name);
    if (value !== null && FILTER_VALUES[name].includes(value))
      (filters as unknown as Record<string, string>)[name] = value;
  }
  const exportedOn = params.get('exportedOn');
  if (exportedOn && UTC_DAY.test(exportedOn)) filters.exportedOn = exportedOn;
  const pageSize = Number(params.get('pageSize'));
  if ((PAGE_SIZES as readonly number[]).includes(pageSize)) filters.pageSize = pageSize as PageSize;
  const cursor = params.get('cursor');
  if (cursor) filters.cursor = cursor;
  return filters;
}

/** The page's query string for these filters ('' for none; the default page size left out). */
export function searchOf(filters: JobFilters): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filters[name]) params.set(name, filters[name]);
  if (filters.exportedOn) params.set('exportedOn', filters.exportedOn);
  if (filters.pageSize !== DEFAULT_PAGE_SIZE) params.set('pageSize', String(filters.pageSize));
  if (filters.cursor) params.set('cursor', filters.cursor);
  const search = params.toString();
  return search ? `?${search}` : '';
}

/** The API's query string: the exported day as `exportedFrom`/`exportedTo` (the API includes a day whole). */
export function listQueryOf(filters: JobFilters): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filters[name]) params.set(name, filters[name]);
  if (filters.exportedOn) {
    params.set('exportedFrom', filters.exportedOn);
    params.set('exportedTo', filters.exportedOn);
  }
  params.set('pageSize', String(filters.pageSize));
  if (filters.cursor) params.set('cursor', filters.cursor);
  return `?${params.toString()}`;
}

/** A changed filter or page size starts again from the first page: a cursor belongs to the old listing. */
export function withFilter(filters: JobFilters, change: Partial<Omit<JobFilters, 'cursor'>>): JobFilters {
  const next: JobFilters = { ...filters, ...change, cursor: undefined };
  for (const [name, value] of Object.entries(change))
    if (value === '' || value === undefined) delete (next as unknown as Record<string, unknown>)[name];
  return next;
}

export const typeLabel = (type: ExportJobType): string =>
  JOB_TYPES.find((candidate) => candidate.value === type)?.label ?? type;
export const formatLabel = (format: ExportJobFormat): string =>
  FORMATS.find((candidate) => candidate.value === format)?.label ?? format;

export function frequencyLabel(frequency: ExportJobView['frequency']): string {
  if (frequency.kind === 'oneTime')
    return frequency.from === frequency.to ? `Once, ${frequency.from}` : `Once, ${frequency.from} to ${frequency.to}`;
  return `Every ${frequency.everyHours} hours${frequency.startDate ? ` from ${frequency.startDate}` : ''}`;
}

/** What the rules allow (docs/export-jobs.md, "Editing" and "Stopping"), and why not when they do not. */
export function editability(
  job: Pick<ExportJobView, 'frequency' | 'status'>,
): { editable: true } | { editable: false; reason: string } {
  if (job.frequency.kind === 'oneTime')
    return {
      editable: false,
      reason: 'One-time jobs cannot be edited: they export their days once. Create a new job to export other data.',
    };
  if (job.status === 'DONE' || job.status === 'STOPPED') {
    return {
      editable: false,
      reason: `This job is ${job.status === 'DONE' ? 'done' : 'stopped'}, and finished jobs cannot be edited. Create a new job instead.`,
    };
  }
  return { editable: true };
}

export const stoppable = (job: Pick<ExportJobView, 'status'>): boolean =>
  job.status === 'PENDING' || job.status === 'RUNNING';

export type JobFormField =
  | 'name'
  | 'destinationId'
  | 'type'
  | 'events'
  | 'format'
  | 'compression'
  | 'asString'
  | 'identityPriority'
  | 'frequency'
  | 'from'
  | 'to'
  | 'everyHours'
  | 'startDate'
  | 'notifyEmails';

export interface JobForm {
  name: string;
  destinationId: string;
  type: ExportJobType;
  /** selectedEvents: the chosen event names. */
  events: string[];
  format: ExportJobFormat;
  compression: 'gzip' | 'none';
  asString: boolean;
  /** Priorities 1 to 3; '' for none (2 and 3 are optional). */
  identityPriority: [IdentityKind | '', IdentityKind | '', IdentityKind | ''];
  frequency: Frequency;
  /** One-time: UTC days. */
  from: string;
  to: string;
  /** Recurring: 4 to 24, as typed. */
  everyHours: string;
  /** Recurring, optional: the UTC day of the first run. */
  startDate: string;
  /** Comma- or line-separated. */
  notifyEmails: string;
}

export const emptyJobForm = (today: string): JobForm => ({
  name: '',
  destinationId: '',
  type: 'allEvents',
  events: [],
  format: 'json',
  compression: 'gzip',
  asString: false,
  identityPriority: ['identity', '', ''],
  frequency: 'recurring',
  from: today,
  to: today,
  everyHours: '6',
  startDate: '',
  notifyEmails: '',
});

export function jobFormOf(job: ExportJobView): JobForm {
  const [first = '', second = '', third = ''] = job.identityPriority;
  return {
    name: job.name ?? '',
    destinationId: job.destinationId,
    type: job.type,
    events: job.events ?? [],
    format: job.format,
    compression: job.compression,
    asString: job.asString,
    identityPriority: [first, second, third],
    frequency: job.frequency.kind,
    from: job.frequency.kind === 'oneTime' ? job.frequency.from : '',
    to: job.frequency.kind === 'oneTime' ? job.frequency.to : '',
    everyHours: job.frequency.kind === 'recurring' ? String(job.frequency.everyHours) : '6',
    startDate: job.frequency.kind === 'recurring' ? (job.frequency.startDate ?? '') : '',
    notifyEmails: job.notifyEmails.join(', '),
  };
}

/** The POST body. A typed number that is not one is sent as typed, for the API to say what is wrong with it. */
export function jobBody(form: JobForm): Record<string, unknown> {
  const everyHours = form.everyHours.trim() === '' ? form.everyHours : Number(form.everyHours);
  return {
    ...(form.name.trim() ? { name: form.name.trim() } : {}),
    destinationId: form.destinationId,
    type: form.type,
    ...(form.type === 'selectedEvents' ? { events: form.events } : {}),
    format: form.format,
    compression: form.compression,
    asString: form.asString,
    identityPriority: form.identityPriority.filter((kind) => kind !== ''),
    frequency:
      form.frequency === 'oneTime'
        ? { kind: 'oneTime', from: form.from, to: form.to }
        : {
            kind: 'recurring',
            everyHours: Number.isNaN(everyHours) ? form.everyHours : everyHours,
            ...(form.startDate ? { startDate: form.startDate } : {}),
          },
    notifyEmails: parseEmails(form.notifyEmails),
  };
}

/**
 * The PATCH body: only what changed, and the version read. An unchanged frequency is left out, so a
 * start date now in the past is not checked again.
 */
export function jobChange(form: JobForm, job: ExportJobView): Record<string, unknown> {
  const before = jobBody(jobFormOf(job));
  const after = jobBody(form);
  const change: Record<string, unknown> = { version: job.version };
  for (const [field, value] of Object.entries(after))
    if (JSON.stringify(value) !== JSON.stringify(before[field])) change[field] = value;
  return change;
}

/** The form field an issue path names (`frequency.from` → `from`, `notifyEmails.0` → `notifyEmails`). */
function fieldOfJobPath(form: JobForm, path: string): JobFormField | undefined {
  const [head, next] = path.split(/[.[\]]+/);
  if (head === 'frequency') {
    const frequencyFields = form.frequency === 'oneTime' ? ['from', 'to'] : ['everyHours', 'startDate'];
    return frequencyFields.includes(next) ? (next as JobFormField) : 'frequency';
  }
  const visible = [
    'name',
    'destinationId',
    'type',
    'format',
    'compression',
    'asString',
    'identityPriority',
    'notifyEmails',
    ...(form.type === 'selectedEvents' ? ['events'] : []),
  ];
  return visible.includes(head) ? (head as JobFormField) : undefined;
}

export const placeJobErrors = (error: ApiError, form: JobForm): PlacedErrors<JobFormField> =>
  placeErrors(error, (path) => fieldOfJobPath(form, path));

/** The total records and bytes of a run's files. */
export const runTotals = (run: ExportJobRunView) =>
  run.files.reduce((totals, file) => ({ records: totals.records + file.records, bytes: totals.bytes + file.bytes }), {
    records: 0,
    bytes: 0,
  });
