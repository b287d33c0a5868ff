/**
 * Export jobs (CleverTap's Exports): the list with its filters and page size in the query string
 * (`export-jobs?status=PENDING&pageSize=10`), the create form (`export-jobs/new`), a job with its run
 * history and files (`export-jobs/<id>`), its edit form where the rules allow (`export-jobs/<id>/edit`),
 * and Stop with a confirmation.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { EventCatalogEntry } from '../../../lambdas/ports';
import { ApiError, type Api } from '../api';
import type { PageProps } from '../app';
import {
  Alert,
  ConfirmButton,
  describedBy,
  Field,
  formatBytes,
  formatCount,
  messageOf,
  TextField,
  Time,
} from '../components';
import { noErrors, type PlacedErrors } from '../form-errors';
import { followLink, navigate, pagePath } from '../router';
import { PROVIDERS } from './data-export-form';
import type { DestinationView } from './destination-form';
import {
  editability,
  emptyJobForm,
  FILTER_NAMES,
  filtersFromSearch,
  FORMATS,
  FREQUENCIES,
  frequencyLabel,
  formatLabel,
  IDENTITIES,
  jobBody,
  jobChange,
  jobFormOf,
  JOB_TYPES,
  listQueryOf,
  PAGE_SIZES,
  placeJobErrors,
  runTotals,
  searchOf,
  STATUSES,
  stoppable,
  typeLabel,
  withFilter,
  type ExportJobRunView,
  type ExportJobView,
  type FilterName,
  type JobFilters,
  type JobForm,
  type JobFormField,
  type PageSize,
} from './export-job-logic';

const jobsPath = (environmentId: string) => `/v1/environments/${encodeURIComponent(environmentId)}/export-jobs`;
const jobPage = (environmentId: string, id: string, rest = '') =>
  pagePath(environmentId, `export-jobs/${encodeURIComponent(id)}${rest}`);

export function ExportJobsPage({ api, environmentId, subpath, search }: PageProps) {
  if (subpath === '') return html`<${JobList} api=${api} environmentId=${environmentId} search=${search} />`;
  if (subpath === 'new') return html`<${JobEditor} api=${api} environmentId=${environmentId} />`;
  const [id, action] = subpath.split('/');
  if (action === 'edit')
    return html`<${JobEditor} key=${id} api=${api} environmentId=${environmentId} id=${decodeURIComponent(id)} />`;
  return html`<${JobDetails} key=${id} api=${api} environmentId=${environmentId} id=${decodeURIComponent(id)} />`;
}

const FILTER_LABELS: Record<FilterName, { label: string; options: readonly { value: string; label: string }[] }> = {
  provider: { label: 'Provider', options: PROVIDERS.map((provider) => ({ value: provider, label: provider })) },
  type: { label: 'Type', options: JOB_TYPES },
  format: { label: 'Format', options: FORMATS },
  status: { label: 'Status', options: STATUSES.map((status) => ({ value: status, label: status })) },
  frequency: { label: 'Frequency', options: FREQUENCIES },
};

function JobList({ api, environmentId, search }: { api: Api; environmentId: string; search: string }) {
  const filters = filtersFromSearch(search);
  const query = listQueryOf(filters);
  const [page, setPage] = useState<{ query: string; items: ExportJobView[]; nextCursor: string | null }>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let current = true;
    setError(undefined);
    api
      .get<{ items: ExportJobView[]; nextCursor: string | null }>(`${jobsPath(environmentId)}${query}`)
      .then((answer) => current && setPage({ query, ...answer }))
      .catch((failure: unknown) => current && setError(messageOf(failure)));
    return () => {
      current = false;
    };
  }, [api, environmentId, query]);

  const listPath = (next: JobFilters) => `${pagePath(environmentId, 'export-jobs')}${searchOf(next)}`;
  const change = (next: Partial<Omit<JobFilters, 'cursor'>>) => navigate(listPath(withFilter(filters, next)));
  const filtered = FILTER_NAMES.some((name) => filters[name]) || Boolean(filters.exportedOn);
  // The page of these filters only: rows of the filters before would mislead while the new ones load.
  const shown = page?.query === query ? page : undefined;

  return html`
    <p class="lead">Event and profile exports into your destinations, once or every few hours (enterprise plan).</p>
    <p>
      <a class="button" href=${pagePath(environmentId, 'export-jobs/new')} onClick=${followLink}>Create export job</a>
    </p>
    <form class="filters" aria-label="Filters" onSubmit=${(event: Event) => event.preventDefault()}>
      ${FILTER_NAMES.map(
        (name) =>
          html`<div class="field">
            <label for=${`filter-${name}`}>${FILTER_LABELS[name].label}</label>
            <select
              id=${`filter-${name}`}
              value=${filters[name] ?? ''}
              onChange=${(e: Event) => change({ [name]: (e.currentTarget as HTMLSelectElement).value })}
            >
              <option value="">All</option>
              ${FILTER_LABELS[name].options.map((option) => html`<option value=${option.value}>${option.label}</option>`)}
            </select>
          </div>`,
      )}
      <div class="field">
        <label for="filter-exportedOn">Exported on (UTC day)</label>
        <input
          id="filter-exportedOn"
          type="date"
          value=${filters.exportedOn ?? ''}
          onChange=${(e: Event) => change({ exportedOn: (e.currentTarget as HTMLInputElement).value })}
        />
      </div>
      <div class="field">
        <label for="pageSize">Jobs per page</label>
        <select
          id="pageSize"
          value=${String(filters.pageSize)}
          onChange=${(e: Event) => change({ pageSize: Number((e.currentTarget as HTMLSelectElement).value) as PageSize })}
        >
          ${PAGE_SIZES.map((size) => html`<option value=${String(size)}>${size}</option>`)}
        </select>
      </div>
      ${filtered ? html`<div class="field clear"><a href=${listPath({ pageSize: filters.pageSize })} onClick=${followLink}>Clear filters</a></div>` : null}
    </form>
    ${error ? html`<${Alert} message=${error} />` : null}
    ${!shown && !error ? html`<p role="status">Loading export jobs…</p>` : null}
    ${shown && shown.items.length === 0 ? html`<p>${filtered ? 'No export jobs match these filters.' : 'No export jobs yet.'}</p>` : null}
    ${
      shown && shown.items.length > 0
        ? html`<div class="table-scroll" role="region" aria-label="Export jobs" tabindex="0">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Format</th>
                  <th scope="col">Frequency</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last run</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                ${shown.items.map(
                  (job) =>
                    html`<tr key=${job.id}>
                      <td><a href=${jobPage(environmentId, job.id)} onClick=${followLink}>${job.name ?? job.id}</a></td>
                      <td>${typeLabel(job.type)}</td>
                      <td>${formatLabel(job.format)}</td>
                      <td>${frequencyLabel(job.frequency)}</td>
                      <td>${job.provider}</td>
                      <td><span class=${`badge ${job.status.toLowerCase()}`}>${job.status}</span></td>
                      <td><${Time} value=${job.lastRunAt} /></td>
                      <td><${Time} value=${job.createdAt} /></td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
    ${
      shown && (filters.cursor || shown.nextCursor)
        ? html`<nav class="pages" aria-label="Pages">
            ${filters.cursor ? html`<a href=${listPath({ ...filters, cursor: undefined })} onClick=${followLink}>First page</a>` : null}
            ${shown.nextCursor ? html`<a href=${listPath({ ...filters, cursor: shown.nextCursor })} onClick=${followLink}>Next page</a>` : null}
          </nav>`
        : null
    }
  `;
}

/** How often a job that is running (or about to) is read again. */
const POLL_MS = 1500;

function JobDetails({ api, environmentId, id }: { api: Api; environmentId: string; id: string }) {
  const path = `${jobsPath(environmentId)}/${encodeURIComponent(id)}`;
  const [job, setJob] = useState<ExportJobView>();
  const [runs, setRuns] = useState<ExportJobRunView[]>();
  const [destination, setDestination] = useState<DestinationView>();
  const [error, setError] = useState<string>();
  const [stopError, setStopError] = useState<string>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    Promise.all([api.get<ExportJobView>(path), api.get<{ runs: ExportJobRunView[] }>(`${path}/runs`)])
      .then(([loaded, history]) => {
        if (!current) return;
        setJob(loaded);
        setRuns(history.runs);
        const working =
          loaded.status === 'RUNNING' || (loaded.frequency.kind === 'oneTime' && loaded.status === 'PENDING');
        if (working) timer = setTimeout(() => setReload((n) => n + 1), POLL_MS);
      })
      .catch((failure: unknown) => current && setError(messageOf(failure)));
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, path, reload]);

  useEffect(() => {
    if (!job) return;
    api
      .get<DestinationView>(
        `/v1/environments/${encodeURIComponent(environmentId)}/destinations/${encodeURIComponent(job.destinationId)}`,
      )
      .then(setDestination)
      .catch(() => setDestination(undefined)); // Deleted since: the id is shown instead.
  }, [api, environmentId, job?.destinationId]);

  if (error) return html`<${Alert} message=${error} />`;
  if (!job) return html`<p role="status">Loading the export job…</p>`;

  const stop = async () => {
    setStopError(undefined);
    try {
      setJob(await api.post<ExportJobView>(`${path}/stop`));
    } catch (failure) {
      setStopError(messageOf(failure));
    }
  };
  const rules = editability(job);

  return html`
    <p><a href=${pagePath(environmentId, 'export-jobs')} onClick=${followLink}>Back to the export jobs</a></p>
    <section aria-labelledby="job-heading">
      <h2 id="job-heading">${job.name ?? job.id}</h2>
      <dl class="status">
        <dt>Status</dt>
        <dd>
          <span class=${`badge ${job.status.toLowerCase()}`}>${job.status}</span
          >${job.stoppedReason ? html` ${job.stoppedReason} (<${Time} value=${job.stoppedAt} />)` : null}
        </dd>
        <dt>Type</dt>
        <dd>${typeLabel(job.type)}${job.events ? `: ${job.events.join(', ')}` : ''}</dd>
        <dt>Format</dt>
        <dd>
          ${formatLabel(job.format)},
          ${job.compression === 'gzip' ? 'gzip' : 'uncompressed'}${job.asString ? ', values as text' : ''}
        </dd>
        <dt>Identity priority</dt>
        <dd>${job.identityPriority.join(', then ')}</dd>
        <dt>Frequency</dt>
        <dd>${frequencyLabel(job.frequency)}</dd>
        <dt>Destination</dt>
        <dd>
          ${
            destination
              ? html`<a
                    href=${pagePath(environmentId, `destinations/${encodeURIComponent(destination.id)}`)}
                    onClick=${followLink}
                    >${destination.name}</a
                  >
                  (${job.provider})`
              : `${job.destinationId} (${job.provider})`
          }
        </dd>
        <dt>Notified on failures</dt>
        <dd>${job.notifyEmails.join(', ')}</dd>
        <dt>Created</dt>
        <dd><${Time} value=${job.createdAt} /></dd>
        <dt>Last run</dt>
        <dd><${Time} value=${job.lastRunAt} /></dd>
      </dl>
      <div class="actions job-actions">
        ${rules.editable ? html`<a class="button" href=${jobPage(environmentId, job.id, '/edit')} onClick=${followLink}>Edit</a>` : null}
        ${
          stoppable(job)
            ? html`<${ConfirmButton}
                label="Stop"
                question=${`Stop ${job.name ?? job.id}? ${job.frequency.kind === 'recurring' ? 'Its schedule is removed and no further runs start.' : 'It will not run again.'} A stopped job cannot be restarted.`}
                confirmLabel="Stop the job"
                onConfirm=${stop}
              />`
            : null
        }
      </div>
      ${rules.editable ? null : html`<p class="notice" id="not-editable">${rules.reason}</p>`}
      ${stopError ? html`<${Alert} message=${stopError} />` : null}
    </section>
    <section aria-labelledby="job-runs-heading" class="panel">
      <div class="panel-heading">
        <h3 id="job-runs-heading">Run history</h3>
        <button type="button" class="secondary" onClick=${() => setReload((n) => n + 1)}>Refresh</button>
      </div>
      ${job.status === 'RUNNING' ? html`<p role="status"><progress aria-label="Export job running"></progress> Running…</p>` : null}
      ${runs && runs.length === 0 ? html`<p>No runs yet.</p>` : null}
      ${runs && runs.length > 0 ? html`<${RunTable} runs=${runs} />` : null}
    </section>
  `;
}

function RunTable({ runs }: { runs: ExportJobRunView[] }) {
  return html`<div class="table-scroll" role="region" aria-label="Runs and their files" tabindex="0">
    <table>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Window</th>
          <th scope="col">Status</th>
          <th scope="col">Records</th>
          <th scope="col">Bytes</th>
          <th scope="col">Files</th>
        </tr>
      </thead>
      <tbody>
        ${runs.map((run) => {
          const totals = runTotals(run);
          return html`<tr key=${run.runId}>
            <td><${Time} value=${run.startedAt} /></td>
            <td><${Time} value=${run.window.from} /> to <${Time} value=${run.window.to} /></td>
            <td>
              <span class=${`badge ${run.status}`}>${run.status}</span
              >${run.error ? html`<div class="error-text">${run.error}</div>` : null}
            </td>
            <td class="number">${formatCount(totals.records)}</td>
            <td class="number">${formatBytes(totals.bytes)}</td>
            <td>
              ${
                run.files.length === 0
                  ? 'None'
                  : html`<ul class="files">
                      ${run.files.map((file) => html`<li><span class="key">${file.key}</span> <span class="hint">${formatCount(file.records)} records, ${formatBytes(file.bytes)}</span></li>`)}
                    </ul>`
              }
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

const todayUtc = () => new Date().toISOString().slice(0, 10);

function JobEditor({ api, environmentId, id }: { api: Api; environmentId: string; id?: string }) {
  const [job, setJob] = useState<ExportJobView>();
  const [form, setForm] = useState<JobForm | undefined>(id ? undefined : emptyJobForm(todayUtc()));
  const [destinations, setDestinations] = useState<DestinationView[]>();
  const [catalog, setCatalog] = useState<EventCatalogEntry[]>();
  const [loadError, setLoadError] = useState<string>();
  const [errors, setErrors] = useState<PlacedErrors<JobFormField>>(noErrors());
  const [saving, setSaving] = useState(false);

  const loadJob = () => {
    if (!id) return;
    api
      .get<ExportJobView>(`${jobsPath(environmentId)}/${encodeURIComponent(id)}`)
      .then((loaded) => {
        setJob(loaded);
        setForm(jobFormOf(loaded));
        setErrors(noErrors());
      })
      .catch((failure: unknown) => setLoadError(messageOf(failure)));
  };
  useEffect(loadJob, [api, environmentId, id]);
  useEffect(() => {
    const env = `/v1/environments/${encodeURIComponent(environmentId)}`;
    Promise.all([
      api.get<{ items: DestinationView[] }>(`${env}/destinations`),
      api.get<{ items: EventCatalogEntry[] }>(`${env}/events`),
    ])
      .then(([loadedDestinations, events]) => {
        setDestinations(loadedDestinations.items);
        setCatalog(events.items);
        // A new job writes to the only destination there is, without asking.
        if (!id && loadedDestinations.items.length > 0)
          setForm(
            (current) =>
              current &&
              (current.destinationId ? current : { ...current, destinationId: loadedDestinations.items[0].id }),
          );
      })
      .catch((failure: unknown) => setLoadError(messageOf(failure)));
  }, [api, environmentId, id]);

  if (loadError) return html`<${Alert} message=${loadError} />`;
  if (!form || !destinations || !catalog) return html`<p role="status">Loading…</p>`;
  if (job && !editability(job).editable) {
    const rules = editability(job) as { reason: string };
    return html`<p class="notice">${rules.reason}</p>
      <p><a href=${jobPage(environmentId, job.id)} onClick=${followLink}>Back to the job</a></p>`;
  }
  if (destinations.length === 0) {
    return html`<p class="notice">An export job writes into a destination, and there is none yet.</p>
      <p>
        <a class="button" href=${pagePath(environmentId, 'destinations/new')} onClick=${followLink}
          >Add a destination</a
        >
      </p>`;
  }

  const set = <K extends keyof JobForm>(field: K, value: JobForm[K]) => setForm({ ...form, [field]: value });
  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    try {
      const saved = job
        ? await api.patch<ExportJobView>(
            `${jobsPath(environmentId)}/${encodeURIComponent(job.id)}`,
            jobChange(form, job),
          )
        : await api.post<ExportJobView>(jobsPath(environmentId), jobBody(form));
      navigate(jobPage(environmentId, saved.id));
    } catch (failure) {
      if (!(failure instanceof ApiError)) throw failure;
      setErrors(placeJobErrors(failure, form));
      setSaving(false);
    }
  };
  const error = (field: JobFormField) => errors.fields[field];
  const select = (
    field: 'destinationId' | 'format' | 'compression',
    label: string,
    options: readonly { value: string; label: string }[],
  ) =>
    html` <${Field} id=${field} label=${label} error=${error(field)}>
      <select
        ...${describedBy(field, false, error(field))}
        name=${field}
        value=${form[field]}
        onChange=${(e: Event) => set(field, (e.currentTarget as HTMLSelectElement).value as never)}
      >
        ${options.map((option) => html`<option value=${option.value}>${option.label}</option>`)}
      </select>
    <//>`;
  const groupError = (field: JobFormField) =>
    error(field) ? html`<p class="error" id=${`${field}-error`} role="alert">${error(field)}</p>` : null;
  const isEvents = (type: string) => type !== 'userProfiles';
  // Event names the job has but the catalog has not seen (yet) stay choosable.
  const eventNames = [...new Set([...catalog.map((entry) => entry.name), ...form.events])].sort();
  const counts = new Map(catalog.map((entry) => [entry.name, entry.count]));

  return html`
    <h2>${job ? `Edit ${job.name ?? job.id}` : 'Create an export job'}</h2>
    <p>
      <a href=${job ? jobPage(environmentId, job.id) : pagePath(environmentId, 'export-jobs')} onClick=${followLink}
        >${job ? 'Back to the job' : 'Back to the export jobs'}</a
      >
    </p>
    ${job ? html`<p class="hint">Changes apply from the next run; a run in progress keeps what it read.</p>` : null}
    <form onSubmit=${save} novalidate>
      ${
        errors.form
          ? html`<div class="alert" role="alert">
              <p>${errors.form}</p>
              ${errors.conflict ? html`<button type="button" onClick=${loadJob}>Reload the job</button>` : null}
            </div>`
          : Object.keys(errors.fields).length > 0
            ? html`<div class="alert" role="alert"><p>Not saved: see the fields marked below.</p></div>`
            : null
      }
      <${TextField}
        id="name"
        label="Name"
        hint="Optional: how the list shows it"
        value=${form.name}
        onValue=${(value: string) => set('name', value)}
        error=${error('name')}
      />
      ${select(
        'destinationId',
        'Destination',
        destinations.map((d) => ({ value: d.id, label: `${d.name} (${d.provider})` })),
      )}
      <fieldset aria-describedby=${error('type') ? 'type-error' : undefined}>
        <legend>What to export</legend>
        ${JOB_TYPES.map(
          (type) =>
            html`<div class="radio">
              <input
                type="radio"
                id=${`type-${type.value}`}
                name="type"
                value=${type.value}
                checked=${form.type === type.value}
                disabled=${job !== undefined && isEvents(type.value) !== isEvents(job.type)}
                onChange=${() => set('type', type.value)}
              />
              <label for=${`type-${type.value}`}>${type.label}</label>
            </div>`,
        )}
        ${job ? html`<p class="hint">A job stays an event or a profile export; create a new job for the other.</p>` : null}
        ${groupError('type')}
      </fieldset>
      ${
        form.type === 'selectedEvents'
          ? html`<fieldset aria-describedby=${error('events') ? 'events-error' : 'events-hint'}>
              <legend>Events (${form.events.length} selected)</legend>
              <p class="hint" id="events-hint">
                From the event catalog: every event name this environment has received. Choose 1 to 100.
              </p>
              ${eventNames.length === 0 ? html`<p>No events received yet.</p>` : null}
              <div class="choices">
                ${eventNames.map(
                  (name) =>
                    html`<div class="radio">
                      <input
                        type="checkbox"
                        id=${`event-${name}`}
                        checked=${form.events.includes(name)}
                        onChange=${(e: Event) => set('events', (e.currentTarget as HTMLInputElement).checked ? [...form.events, name] : form.events.filter((chosen) => chosen !== name))}
                      />
                      <label for=${`event-${name}`}
                        >${name}${counts.has(name) ? html` <span class="hint">(~${formatCount(counts.get(name))})</span>` : null}</label
                      >
                    </div>`,
                )}
              </div>
              ${groupError('events')}
            </fieldset>`
          : null
      }
      ${select('format', 'Format', FORMATS)}
      ${select('compression', 'Compression', [
        { value: 'gzip', label: 'gzip' },
        { value: 'none', label: 'None' },
      ])}
      <div class="field checkbox">
        <input
          type="checkbox"
          id="asString"
          checked=${form.asString}
          onChange=${(e: Event) => set('asString', (e.currentTarget as HTMLInputElement).checked)}
        />
        <label for="asString">Write every property value as text</label>
      </div>
      <fieldset aria-describedby=${error('identityPriority') ? 'identityPriority-error' : 'identityPriority-hint'}>
        <legend>Identity priority</legend>
        <p class="hint" id="identityPriority-hint">
          Which identity fills the identity column: the first one a profile has.
        </p>
        ${[0, 1, 2].map(
          (index) =>
            html`<div class="field">
              <label for=${`identityPriority-${index + 1}`}>Identity priority ${index + 1}</label>
              <select
                id=${`identityPriority-${index + 1}`}
                value=${form.identityPriority[index]}
                onChange=${(e: Event) => {
                  const next = [...form.identityPriority] as JobForm['identityPriority'];
                  next[index] = (e.currentTarget as HTMLSelectElement).value as JobForm['identityPriority'][number];
                  set('identityPriority', next);
                }}
              >
                ${index > 0 ? html`<option value="">None</option>` : null}
                ${IDENTITIES.map((kind) => html`<option value=${kind}>${kind}</option>`)}
              </select>
            </div>`,
        )}
        ${groupError('identityPriority')}
      </fieldset>
      <fieldset aria-describedby=${error('frequency') ? 'frequency-error' : undefined}>
        <legend>When</legend>
        ${
          job
            ? null
            : FREQUENCIES.map(
                (frequency) =>
                  html`<div class="radio">
                    <input
                      type="radio"
                      id=${`frequency-${frequency.value}`}
                      name="frequency"
                      value=${frequency.value}
                      checked=${form.frequency === frequency.value}
                      onChange=${() => set('frequency', frequency.value)}
                    />
                    <label for=${`frequency-${frequency.value}`}
                      >${frequency.value === 'oneTime' ? 'One time, over past days' : 'Recurring, every few hours'}</label
                    >
                  </div>`,
              )
        }
        ${groupError('frequency')}
        ${
          form.frequency === 'oneTime'
            ? html`<${TextField}
                  id="from"
                  type="date"
                  label="From (UTC day)"
                  hint="Within the last 60 days"
                  value=${form.from}
                  onValue=${(value: string) => set('from', value)}
                  error=${error('from')}
                />
                <${TextField}
                  id="to"
                  type="date"
                  label="To (UTC day, included)"
                  hint="Today at the latest"
                  value=${form.to}
                  onValue=${(value: string) => set('to', value)}
                  error=${error('to')}
                />`
            : html`<${TextField}
                  id="everyHours"
                  type="number"
                  label="Every (hours)"
                  hint="4 to 24; each run exports what arrived since the one before"
                  value=${form.everyHours}
                  onValue=${(value: string) => set('everyHours', value)}
                  error=${error('everyHours')}
                />
                <${TextField}
                  id="startDate"
                  type="date"
                  label="Start date (UTC day)"
                  hint="Optional: the first run at 00:00 UTC that day; empty, from now"
                  value=${form.startDate}
                  onValue=${(value: string) => set('startDate', value)}
                  error=${error('startDate')}
                />`
        }
      </fieldset>
      <${TextField}
        id="notifyEmails"
        label="Notification emails"
        hint="1 to 10 addresses warned when runs fail; separate them with commas"
        autocomplete="email"
        value=${form.notifyEmails}
        onValue=${(value: string) => set('notifyEmails', value)}
        error=${error('notifyEmails')}
      />
      <div class="actions">
        <button type="submit" disabled=${saving}>${saving ? 'Saving…' : job ? 'Save changes' : 'Create job'}</button>
      </div>
    </form>
  `;
}
