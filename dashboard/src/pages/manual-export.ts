/**
 * Manual export: choose the historical aggregation, start, follow the job until its file is ready,
 * then download it. Refusals (plan, too many at once) show the API's own words.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api } from '../api';
import { Alert, formatBytes, formatCount, Time } from '../components';

const AGGREGATIONS = [
  { value: 'snapshot', label: "Just today's snapshot" },
  { value: '30d-daily', label: '30 days, daily granularity' },
  { value: '3m-weekly', label: '3 months, weekly granularity' },
  { value: '6m-weekly', label: '6 months, weekly granularity' },
] as const;

interface ManualExport {
  id: string;
  status: 'pending' | 'running' | 'done' | 'failed';
  rowCount?: number | null;
  byteCount?: number | null;
  fileName?: string | null;
  downloadUrl?: string | null;
  expiresAt?: string | null;
  error?: string | null;
}

/** How often a started export is polled. */
const POLL_MS = 1000;

export function ManualExportPage({ api, environmentId }: { api: Api; environmentId: string }) {
  const base = `/v1/environments/${encodeURIComponent(environmentId)}/exports/manual`;
  const [aggregation, setAggregation] = useState<string>('snapshot');
  const [started, setStarted] = useState<{ id: string; aggregation: string }[]>([]);
  const [refusal, setRefusal] = useState<string>();
  const [starting, setStarting] = useState(false);

  const start = async (event: Event) => {
    event.preventDefault();
    setStarting(true);
    setRefusal(undefined);
    try {
      const job = await api.post<ManualExport>(base, { aggregation });
      setStarted((jobs) => [{ id: job.id, aggregation }, ...jobs]);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // The plan (403) and the concurrency limit (429) refusals say why and when to try again.
      setRefusal(error.message);
    } finally {
      setStarting(false);
    }
  };

  return html`
    <section aria-labelledby="manual-heading">
      <h2 id="manual-heading">Start an export</h2>
      <p class="lead">A CSV file of company data, one row per company, feature and date (pro and enterprise plans).</p>
      <form onSubmit=${start}>
        <fieldset>
          <legend>Historical data</legend>
          ${AGGREGATIONS.map(
            (option) =>
              html`<div class="radio">
                <input
                  type="radio"
                  id=${`aggregation-${option.value}`}
                  name="aggregation"
                  value=${option.value}
                  checked=${aggregation === option.value}
                  onChange=${() => setAggregation(option.value)}
                />
                <label for=${`aggregation-${option.value}`}>${option.label}</label>
              </div>`,
          )}
        </fieldset>
        ${refusal ? html`<${Alert} message=${refusal} />` : null}
        <div class="actions"><button type="submit" disabled=${starting}>Download export</button></div>
      </form>
    </section>
    ${
      started.length > 0
        ? html`<section aria-labelledby="started-heading" class="panel">
            <h2 id="started-heading">Exports</h2>
            <ul class="exports">
              ${started.map((job) => html`<${ExportProgress} key=${job.id} api=${api} path=${`${base}/${encodeURIComponent(job.id)}`} aggregation=${job.aggregation} />`)}
            </ul>
          </section>`
        : null
    }
  `;
}

function ExportProgress({ api, path, aggregation }: { api: Api; path: string; aggregation: string }) {
  const [job, setJob] = useState<ManualExport>();
  const [error, setError] = useState<string>();
  const label = AGGREGATIONS.find((option) => option.value === aggregation)?.label ?? aggregation;

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let current = true;
    const poll = async () => {
      try {
        const latest = await api.get<ManualExport>(path);
        if (!current) return;
        setJob(latest);
        if (latest.status === 'pending' || latest.status === 'running') timer = setTimeout(() => void poll(), POLL_MS);
      } catch (failure) {
        if (current) setError(failure instanceof ApiError ? failure.message : String(failure));
      }
    };
    void poll();
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, path]);

  const status = job?.status ?? 'pending';
  return html`<li class="export" aria-label=${`${label} export`}>
    <div class="export-title"><strong>${label}</strong> <span class=${`badge ${status}`}>${status}</span></div>
    ${error ? html`<${Alert} message=${error} />` : null}
    ${
      status === 'pending' || status === 'running'
        ? html`<div role="status">
            <progress aria-label=${`${label}: ${status}`}></progress>
            ${status === 'pending' ? 'Waiting to start…' : 'Exporting…'}
          </div>`
        : null
    }
    ${
      job?.status === 'done' && job.downloadUrl
        ? html`<p role="status">
            <a class="download" href=${job.downloadUrl} download=${job.fileName ?? true}
              >Download ${job.fileName ?? 'CSV'}</a
            >
            ${' '}${formatCount(job.rowCount)} rows, ${formatBytes(job.byteCount)}; the link works until
            <${Time} value=${job.expiresAt} />.
          </p>`
        : null
    }
    ${job?.status === 'failed' ? html`<${Alert} message=${job.error ?? 'The export failed.'} />` : null}
  </li>`;
}
