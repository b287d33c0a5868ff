/**
 * Data export: the automatic export settings form (Bucket's "Data export" settings) and, below it,
 * the status panel with the run history.
 */
import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { RunView, StatusView } from '../../../lambdas/core/automatic-export-views';
import { ApiError, type Api } from '../api';
import { Alert, describedBy, Field, formatBytes, formatCount, formatDuration, Time } from '../components';
import {
  formOf,
  placeErrors,
  PROVIDER_FIELDS,
  PROVIDERS,
  saveBody,
  type FormField,
  type PlacedErrors,
  type SettingsForm,
  type SettingsView,
} from './data-export-form';

export const DESTINATION_LABELS: Record<string, { label: string; hint?: string }> = {
  bucketUrl: { label: 'S3 bucket URL', hint: 'https://<bucket>.s3.<region>.amazonaws.com[/key]; the key is optional' },
  bucket: { label: 'Bucket' },
  region: { label: 'Region', hint: 'e.g. europe-west1, auto or us-east-1' },
  key: { label: 'Key', hint: 'Optional folder inside the bucket' },
  endpoint: { label: 'Endpoint', hint: 'The storage API URL, e.g. https://<ACCOUNT_ID>.eu.r2.cloudflarestorage.com' },
};

export function DataExportPage({ api, environmentId }: { api: Api; environmentId: string }) {
  const base = `/v1/environments/${encodeURIComponent(environmentId)}/data-export`;
  const [settings, setSettings] = useState<SettingsView>();
  const [form, setForm] = useState<SettingsForm>();
  const [loadError, setLoadError] = useState<string>();
  const [errors, setErrors] = useState<PlacedErrors>({ fields: {}, conflict: false });
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);
  const [refreshKey, setRefreshKey] = useState(0);

  const load = useCallback(async () => {
    setLoadError(undefined);
    try {
      const loaded = await api.get<SettingsView>(`${base}/settings`);
      setSettings(loaded);
      setForm(formOf(loaded));
      setErrors({ fields: {}, conflict: false });
    } catch (error) {
      setLoadError(error instanceof ApiError ? error.message : String(error));
    }
  }, [api, base]);

  useEffect(() => void load(), [load]);

  if (loadError) return html`<${Alert} message=${loadError} />`;
  if (!settings || !form) return html`<p role="status">Loading settings…</p>`;

  const set = (field: FormField, value: string | boolean) => {
    setForm({ ...form, [field]: value });
    setSaved(false);
  };
  const onInput = (field: FormField) => (event: Event) => set(field, (event.currentTarget as HTMLInputElement).value);

  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setSaved(false);
    try {
      const stored = await api.put<SettingsView>(`${base}/settings`, saveBody(form, settings.version));
      setSettings(stored);
      setForm(formOf(stored));
      setErrors({ fields: {}, conflict: false });
      setSaved(true);
      setRefreshKey((key) => key + 1);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      setErrors(placeErrors(error, form));
    } finally {
      setSaving(false);
    }
  };

  const text = (
    field: FormField,
    label: string,
    options: { hint?: string; type?: string; placeholder?: string; autocomplete?: string } = {},
  ) =>
    html` <${Field} id=${field} label=${label} hint=${options.hint} error=${errors.fields[field]}>
      <input
        ...${describedBy(field, Boolean(options.hint), errors.fields[field])}
        name=${field}
        type=${options.type ?? 'text'}
        value=${form[field] as string}
        placeholder=${options.placeholder}
        autocomplete=${options.autocomplete ?? 'off'}
        spellcheck=${false}
        onInput=${onInput(field)}
      />
    <//>`;

  const secretHint = settings.secretAccessKeySet ? 'Unchanged: leave empty to keep the stored secret.' : 'Not set yet.';
  const keyIdHint = settings.accessKeyId ? `Stored: ${settings.accessKeyId}. Leave empty to keep it.` : undefined;
  const hasFieldErrors = Object.keys(errors.fields).length > 0;

  return html`
    <section aria-labelledby="automatic-export-heading">
      <h2 id="automatic-export-heading">Automatic export</h2>
      <p class="lead">
        A CSV of company data, written daily or weekly to your S3-compatible storage (enterprise plan).
      </p>
      <form onSubmit=${save} novalidate aria-describedby=${errors.form ? 'form-error' : undefined}>
        ${
          errors.form
            ? html`<div class="alert" role="alert" id="form-error">
                <p>${errors.form}</p>
                ${
                  errors.conflict
                    ? html`<p>
                          Someone saved these settings after you loaded them. Reload to see their version, apply your
                          change again and save.
                        </p>
                        <button type="button" onClick=${() => void load()}>Reload settings</button>`
                    : null
                }
              </div>`
            : hasFieldErrors
              ? html`<div class="alert" role="alert" id="form-error">
                  <p>Not saved: see the fields marked below.</p>
                </div>`
              : null
        }
        ${
          settings.stoppedAt
            ? html`<p class="notice">
                Stopped <${Time} value=${settings.stoppedAt} />: ${settings.stoppedReason ?? ''}. Save to turn it on
                again.
              </p>`
            : null
        }
        <div class="field checkbox">
          <input
            type="checkbox"
            id="enabled"
            name="enabled"
            checked=${form.enabled}
            onChange=${(e: Event) => set('enabled', (e.currentTarget as HTMLInputElement).checked)}
          />
          <label for="enabled">Enable automatic export</label>
        </div>
        <${Field}
          id="cadence"
          label="Periodic schedule"
          hint="Runs after 00:00 UTC, every day or every Monday"
          error=${errors.fields.cadence}
        >
          <select
            ...${describedBy('cadence', true, errors.fields.cadence)}
            name="cadence"
            value=${form.cadence}
            onChange=${onInput('cadence')}
          >
            <option value="daily">Daily</option>
            <option value="weekly">Weekly</option>
          </select>
        <//>
        <${Field} id="provider" label="S3 provider" error=${errors.fields.provider}>
          <select
            ...${describedBy('provider', false, errors.fields.provider)}
            name="provider"
            value=${form.provider}
            onChange=${onInput('provider')}
          >
            ${PROVIDERS.map((provider) => html`<option value=${provider}>${provider}</option>`)}
          </select>
        <//>
        <fieldset>
          <legend>${form.provider === 'AWS' ? 'S3 bucket' : `${form.provider} bucket`}</legend>
          ${PROVIDER_FIELDS[form.provider].map((field) => text(field, DESTINATION_LABELS[field].label, { hint: DESTINATION_LABELS[field].hint }))}
        </fieldset>
        <fieldset>
          <legend>${form.provider === 'GCP' ? 'HMAC key' : 'Credentials'}</legend>
          ${text('accessKeyId', form.provider === 'GCP' ? 'Access key (HMAC key id)' : 'Access key', { hint: keyIdHint, placeholder: settings.accessKeyId ?? undefined })}
          ${text('secretAccessKey', form.provider === 'GCP' ? 'Secret (HMAC secret)' : 'Secret access key', {
            hint: secretHint,
            type: 'password',
            placeholder: settings.secretAccessKeySet ? 'unchanged' : undefined,
            autocomplete: 'new-password',
          })}
        </fieldset>
        ${text('notifyEmails', 'Notification emails', { hint: 'Warned when exports keep failing; separate addresses with commas', type: 'text', autocomplete: 'email' })}
        <div class="actions">
          <button type="submit" disabled=${saving}>${saving ? 'Checking the bucket and saving…' : 'Save'}</button>
          ${saved ? html`<span role="status" class="ok">Saved. The bucket was checked with these credentials.</span>` : null}
        </div>
      </form>
    </section>
    <${StatusPanel} api=${api} base=${base} refreshKey=${refreshKey} />
  `;
}

function StatusPanel({ api, base, refreshKey }: { api: Api; base: string; refreshKey: number }) {
  const [status, setStatus] = useState<StatusView>();
  const [runs, setRuns] = useState<RunView[]>();
  const [error, setError] = useState<string>();
  const [manualRefresh, setManualRefresh] = useState(0);

  useEffect(() => {
    let current = true;
    Promise.all([api.get<StatusView>(`${base}/status`), api.get<{ runs: RunView[] }>(`${base}/runs?limit=20`)])
      .then(([loadedStatus, history]) => {
        if (!current) return;
        setStatus(loadedStatus);
        setRuns(history.runs);
        setError(undefined);
      })
      .catch(
        (failure: unknown) => current && setError(failure instanceof ApiError ? failure.message : String(failure)),
      );
    return () => {
      current = false;
    };
  }, [api, base, refreshKey, manualRefresh]);

  return html`
    <section aria-labelledby="status-heading" class="panel">
      <div class="panel-heading">
        <h2 id="status-heading">Status</h2>
        <button type="button" class="secondary" onClick=${() => setManualRefresh((n) => n + 1)}>Refresh</button>
      </div>
      ${error ? html`<${Alert} message=${error} />` : null}
      ${
        status
          ? html`<dl class="status">
              <dt>Last run</dt>
              <dd><${Time} value=${status.lastRunAt} /></dd>
              <dt>Status</dt>
              <dd><span class=${`badge ${status.status.replace(/ /g, '-')}`}>${status.status}</span></dd>
              <dt>Next run</dt>
              <dd>
                ${status.nextRunAt ? html`<${Time} value=${status.nextRunAt} />` : status.enabled ? '—' : 'Not scheduled (automatic export is off)'}
              </dd>
              ${
                status.error
                  ? html`<dt>Error</dt>
                      <dd class="error-text">${status.error}</dd>`
                  : null
              }
            </dl>`
          : html`<p role="status">Loading status…</p>`
      }
      <h3 id="runs-heading">Run history</h3>
      ${runs && runs.length === 0 ? html`<p>No runs yet.</p>` : null}
      ${
        runs && runs.length > 0
          ? html`<div class="table-scroll" role="region" aria-labelledby="runs-heading" tabindex="0">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Snapshot</th>
                    <th scope="col">Status</th>
                    <th scope="col">Rows</th>
                    <th scope="col">Bytes</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Key</th>
                  </tr>
                </thead>
                <tbody>
                  ${runs.map(
                    (run) =>
                      html`<tr>
                        <td><${Time} value=${run.snapshotAt} /></td>
                        <td>${run.status}${run.error ? html`<div class="error-text">${run.error}</div>` : null}</td>
                        <td class="number">${formatCount(run.rowCount)}</td>
                        <td class="number">${formatBytes(run.byteCount)}</td>
                        <td class="number">${formatDuration(run.durationMs)}</td>
                        <td class="key">${run.objectKey ?? '—'}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
          : null
      }
    </section>
  `;
}
