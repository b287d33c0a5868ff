/**
 * Raw export (KISSmetrics style): turn the copy of every item ever received on or off with a
 * destination, and follow its progress (exported / total revisions, last and next run, the error of a
 * failed or stopped export). `GET/PUT .../raw-export/settings` and `GET .../raw-export/status`
 * (docs/raw-revisions.md); a plan without it gets the API's refusal, which says why.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api } from '../api';
import type { PageProps } from '../app';
import { Alert, describedBy, Field, formatCount, messageOf, TextField, Time } from '../components';
import { firstSegmentIn, noErrors, placeErrors, type PlacedErrors } from '../form-errors';
import { followLink, pagePath } from '../router';
import type { DestinationView } from './destination-form';
import {
  rawExportBody,
  rawExportForm,
  type RawExportForm,
  type RawExportSettingsView,
  type RawExportStatusView,
} from './raw-export-logic';

type RawExportField = 'enabled' | 'destinationId' | 'notifyEmails';
const FIELDS: ReadonlySet<string> = new Set<RawExportField>(['enabled', 'destinationId', 'notifyEmails']);

export function RawExportPage({ api, environmentId }: PageProps) {
  const env = `/v1/environments/${encodeURIComponent(environmentId)}`;
  const [settings, setSettings] = useState<RawExportSettingsView>();
  const [destinations, setDestinations] = useState<DestinationView[]>();
  const [form, setForm] = useState<RawExportForm>();
  const [loadError, setLoadError] = useState<string>();
  const [errors, setErrors] = useState<PlacedErrors<RawExportField>>(noErrors());
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);
  const [refreshKey, setRefreshKey] = useState(0);

  const load = () => {
    Promise.all([
      api.get<RawExportSettingsView>(`${env}/raw-export/settings`),
      api.get<{ items: DestinationView[] }>(`${env}/destinations`),
    ])
      .then(([loaded, loadedDestinations]) => {
        setSettings(loaded);
        setDestinations(loadedDestinations.items);
        setForm(
          rawExportForm(
            loaded,
            loadedDestinations.items.map((d) => d.id),
          ),
        );
        setErrors(noErrors());
        setSaved(false);
      })
      .catch((failure: unknown) => setLoadError(messageOf(failure)));
  };
  useEffect(load, [api, env]);

  if (loadError) return html`<${Alert} message=${loadError} />`;
  if (!settings || !form || !destinations) return html`<p role="status">Loading raw export settings…</p>`;

  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setSaved(false);
    try {
      const stored = await api.put<RawExportSettingsView>(
        `${env}/raw-export/settings`,
        rawExportBody(form, settings.version),
      );
      setSettings(stored);
      setErrors(noErrors());
      setSaved(true);
      setRefreshKey((key) => key + 1);
    } catch (failure) {
      if (!(failure instanceof ApiError)) throw failure;
      setErrors(placeErrors<RawExportField>(failure, firstSegmentIn(FIELDS)));
    } finally {
      setSaving(false);
    }
  };
  const set = (change: Partial<typeof form>) => {
    setForm({ ...form, ...change });
    setSaved(false);
  };

  return html`
    <section aria-labelledby="raw-settings-heading">
      <h2 id="raw-settings-heading">Settings</h2>
      <p class="lead">
        A copy of every item the service ever received, up to yesterday, as numbered <code>revisions/N.json</code> files
        with <code>status.csv</code> and <code>index.csv</code>; kept current every 12 hours (enterprise plan).
      </p>
      ${
        settings.stoppedAt
          ? html`<p class="notice">
              Stopped by the service <${Time} value=${settings.stoppedAt} /> after failing for 72 hours (the error is
              under Progress). Fix the destination, then turn the export on again.
            </p>`
          : null
      }
      ${
        destinations.length === 0
          ? html`<p class="notice">
              The raw export writes into a destination, and there is none yet.
              <a href=${pagePath(environmentId, 'destinations/new')} onClick=${followLink}>Add a destination</a>.
            </p>`
          : html`<form onSubmit=${save} novalidate>
              ${
                errors.form
                  ? html`<div class="alert" role="alert">
                      <p>${errors.form}</p>
                      ${errors.conflict ? html`<button type="button" onClick=${load}>Reload settings</button>` : null}
                    </div>`
                  : null
              }
              <div class="field checkbox">
                <input
                  type="checkbox"
                  id="enabled"
                  checked=${form.enabled}
                  onChange=${(e: Event) => set({ enabled: (e.currentTarget as HTMLInputElement).checked })}
                />
                <label for="enabled">Export raw revisions</label>
              </div>
              <${Field} id="destinationId" label="Destination" error=${errors.fields.destinationId}>
                <select
                  ...${describedBy('destinationId', false, errors.fields.destinationId)}
                  value=${form.destinationId}
                  onChange=${(e: Event) => set({ destinationId: (e.currentTarget as HTMLSelectElement).value })}
                >
                  <option value="">Choose a destination</option>
                  ${destinations.map((d) => html`<option value=${d.id}>${d.name} (${d.provider})</option>`)}
                </select>
              <//>
              <${TextField}
                id="notifyEmails"
                label="Notification emails"
                hint="Warned when runs keep failing; separate addresses with commas"
                autocomplete="email"
                value=${form.notifyEmails}
                onValue=${(value: string) => set({ notifyEmails: value })}
                error=${errors.fields.notifyEmails}
              />
              <div class="actions">
                <button type="submit" disabled=${saving}>${saving ? 'Saving…' : 'Save'}</button>
                ${saved ? html`<span role="status" class="ok">Saved.</span>` : null}
              </div>
            </form>`
      }
    </section>
    <${RawExportProgress} api=${api} path=${`${env}/raw-export/status`} refreshKey=${refreshKey} />
  `;
}

function RawExportProgress({ api, path, refreshKey }: { api: Api; path: string; refreshKey: number }) {
  const [status, setStatus] = useState<RawExportStatusView>();
  const [error, setError] = useState<string>();
  const [manualRefresh, setManualRefresh] = useState(0);
  useEffect(() => {
    let current = true;
    api
      .get<RawExportStatusView>(path)
      .then((loaded) => {
        if (!current) return;
        setStatus(loaded);
        setError(undefined);
      })
      .catch((failure: unknown) => current && setError(messageOf(failure)));
    return () => {
      current = false;
    };
  }, [api, path, refreshKey, manualRefresh]);

  return html`<section aria-labelledby="raw-status-heading" class="panel">
    <div class="panel-heading">
      <h2 id="raw-status-heading">Progress</h2>
      <button type="button" class="secondary" onClick=${() => setManualRefresh((n) => n + 1)}>Refresh</button>
    </div>
    ${error ? html`<${Alert} message=${error} />` : null}
    ${
      status
        ? html`<p>
              <progress
                id="revisions"
                max=${Math.max(status.totalRevisions, 1)}
                value=${status.exportedRevisions}
                aria-label="Exported revisions"
              ></progress>
              ${' '}<span
                >${formatCount(status.exportedRevisions)} of ${formatCount(status.totalRevisions)} revisions
                exported</span
              >
            </p>
            <dl class="status">
              <dt>Status</dt>
              <dd><span class=${`badge ${status.status.replace(/ /g, '-')}`}>${status.status}</span></dd>
              <dt>Last run</dt>
              <dd><${Time} value=${status.lastRunAt} /></dd>
              <dt>Next run</dt>
              <dd>${status.nextRunAt ? html`<${Time} value=${status.nextRunAt} />` : 'Not scheduled'}</dd>
              <dt>Exported up to</dt>
              <dd><${Time} value=${status.maxExportedAt} /></dd>
              ${
                status.error
                  ? html`<dt>Error</dt>
                      <dd class="error-text">${status.error}</dd>`
                  : null
              }
            </dl>`
        : error
          ? null
          : html`<p role="status">Loading progress…</p>`
    }
  </section>`;
}
