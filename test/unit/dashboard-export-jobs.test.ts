/** The export jobs pages' logic: the listing's state in the query string, the bodies the form sends, the edit rules, where errors show. */
import { ApiError } from '../../dashboard/src/api';
import {
  editability,
  emptyJobForm,
  filtersFromSearch,
  jobBody,
  jobChange,
  jobFormOf,
  listQueryOf,
  placeJobErrors,
  searchOf,
  stoppable,
  withFilter,
  type ExportJobView,
} from '../../dashboard/src/pages/export-job-logic';

const recurring: ExportJobView = {
  id: 'job_1',
  name: 'Purchases',
  destinationId: 'dst_1',
  provider: 'AWS',
  type: 'selectedEvents',
  events: ['purchase', 'signup'],
  identityPriority: ['identity', 'email'],
  frequency: { kind: 'recurring', everyHours: 6, startDate: '2026-01-01' },
  format: 'csv',
  asString: false,
  compression: 'gzip',
  notifyEmails: ['data@acme.example'],
  status: 'PENDING',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  lastRunAt: null,
  stoppedAt: null,
  stoppedReason: null,
  version: 7,
};

describe('the listing state in the query string', () => {
  it('reads the filters, page size and cursor back from what it wrote', () => {
    const filters = {
      provider: 'GCP',
      type: 'userProfiles',
      format: 'parquet',
      status: 'STOPPED',
      frequency: 'oneTime',
      exportedOn: '2026-11-23',
      pageSize: 40,
      cursor: 'abc',
    } as const;
    expect(searchOf(filters)).toBe(
      '?provider=GCP&type=userProfiles&format=parquet&status=STOPPED&frequency=oneTime&exportedOn=2026-11-23&pageSize=40&cursor=abc',
    );
    expect(filtersFromSearch(searchOf(filters))).toEqual(filters);
  });

  it('leaves the default page size and empty filters out of the address', () => {
    expect(searchOf({ pageSize: 20 })).toBe('');
    expect(filtersFromSearch('')).toEqual({ pageSize: 20 });
  });

  it('drops values the listing does not offer, rather than sending them', () => {
    expect(filtersFromSearch('?status=BROKEN&format=pdf&pageSize=15&exportedOn=yesterday&provider=AWS')).toEqual({
      provider: 'AWS',
      pageSize: 20,
    });
  });

  it('asks the API for the exported day as exportedFrom and exportedTo, with the page size and cursor', () => {
    expect(listQueryOf({ status: 'PENDING', exportedOn: '2026-11-23', pageSize: 10, cursor: 'c1' })).toBe(
      '?status=PENDING&exportedFrom=2026-11-23&exportedTo=2026-11-23&pageSize=10&cursor=c1',
    );
    expect(listQueryOf({ pageSize: 20 })).toBe('?pageSize=20');
  });

  it('starts from the first page when a filter or the page size changes, and clears a filter set to All', () => {
    const filters = { format: 'csv' as const, status: 'PENDING' as const, pageSize: 10 as const, cursor: 'c1' };
    expect(withFilter(filters, { pageSize: 30 })).toEqual({ format: 'csv', status: 'PENDING', pageSize: 30 });
    expect(withFilter(filters, { status: '' as never })).toEqual({ format: 'csv', pageSize: 10 });
  });
});

describe('the rules', () => {
  it('lets a pending or running recurring job be edited and stopped', () => {
    expect(editability(recurring)).toEqual({ editable: true });
    expect(editability({ ...recurring, status: 'RUNNING' })).toEqual({ editable: true });
    expect(stoppable(recurring)).toBe(true);
  });

  it('says why one-time and finished jobs cannot be edited', () => {
    expect(editability({ ...recurring, frequency: { kind: 'oneTime', from: '2026-01-01', to: '2026-01-02' } })).toEqual(
      {
        editable: false,
        reason: expect.stringMatching(/^One-time jobs cannot be edited/),
      },
    );
    expect(editability({ ...recurring, status: 'STOPPED' })).toEqual({
      editable: false,
      reason: expect.stringMatching(/stopped, and finished jobs cannot be edited/),
    });
    expect(editability({ ...recurring, status: 'DONE' })).toEqual({
      editable: false,
      reason: expect.stringMatching(/done, and finished jobs/),
    });
    expect(stoppable({ status: 'DONE' })).toBe(false);
    expect(stoppable({ status: 'STOPPED' })).toBe(false);
  });
});

describe('the bodies the form sends', () => {
  it('creates with the chosen events, identity priority without blanks, and the frequency of its kind', () => {
    const form = {
      ...emptyJobForm('2026-11-23'),
      destinationId: 'dst_1',
      type: 'selectedEvents' as const,
      events: ['purchase'],
      notifyEmails: 'a@x.example, b@x.example',
    };
    form.identityPriority = ['email', '', 'phone'];
    expect(jobBody(form)).toEqual({
      destinationId: 'dst_1',
      type: 'selectedEvents',
      events: ['purchase'],
      format: 'json',
      compression: 'gzip',
      asString: false,
      identityPriority: ['email', 'phone'],
      frequency: { kind: 'recurring', everyHours: 6 },
      notifyEmails: ['a@x.example', 'b@x.example'],
    });
    expect(
      jobBody({
        ...form,
        type: 'allEvents',
        frequency: 'oneTime',
        from: '2026-11-01',
        to: '2026-11-02',
        name: ' Backfill ',
      }),
    ).toMatchObject({
      name: 'Backfill',
      frequency: { kind: 'oneTime', from: '2026-11-01', to: '2026-11-02' },
    });
    expect(jobBody({ ...form, type: 'allEvents' })).not.toHaveProperty('events');
  });

  it('sends what it cannot read as a number as typed, for the API to say what is wrong', () => {
    expect(jobBody({ ...emptyJobForm('2026-11-23'), everyHours: 'six' }).frequency).toEqual({
      kind: 'recurring',
      everyHours: 'six',
    });
  });

  it('edits with only the changed fields and the version read: an unchanged past start date is not sent again', () => {
    expect(jobChange(jobFormOf(recurring), recurring)).toEqual({ version: 7 });
    const form = { ...jobFormOf(recurring), format: 'json' as const, events: ['purchase'] };
    expect(jobChange(form, recurring)).toEqual({ format: 'json', events: ['purchase'], version: 7 });
    expect(jobChange({ ...jobFormOf(recurring), everyHours: '12' }, recurring)).toEqual({
      frequency: { kind: 'recurring', everyHours: 12, startDate: '2026-01-01' },
      version: 7,
    });
  });
});

describe('where errors show', () => {
  const invalid = (issues: { path: string; message: string }[]) =>
    new ApiError(400, 'invalid_request', 'Invalid export job.', issues);

  it('places frequency issues at the field of the chosen kind, list items at their list', () => {
    const form = { ...emptyJobForm('2026-11-23'), frequency: 'oneTime' as const };
    expect(
      placeJobErrors(
        invalid([
          { path: 'frequency.from', message: 'too far back' },
          { path: 'notifyEmails.1', message: 'must be an email address' },
        ]),
        form,
      ),
    ).toEqual({
      fields: { from: 'too far back', notifyEmails: 'must be an email address' },
      conflict: false,
    });
    expect(
      placeJobErrors(
        invalid([{ path: 'frequency.everyHours', message: 'everyHours must be 4 to 24' }]),
        emptyJobForm('2026-11-23'),
      ).fields,
    ).toEqual({
      everyHours: 'everyHours must be 4 to 24',
    });
  });

  it('shows above the form what no visible field names, and a stale edit as a conflict', () => {
    expect(
      placeJobErrors(invalid([{ path: 'events', message: 'only for selectedEvents' }]), emptyJobForm('2026-11-23')),
    ).toEqual({
      fields: {},
      form: 'Invalid export job.',
      conflict: false,
    });
    expect(placeJobErrors(new ApiError(409, 'conflict', 'Reload it.'), emptyJobForm('2026-11-23'))).toEqual({
      fields: {},
      form: 'Reload it.',
      conflict: true,
    });
  });
});
