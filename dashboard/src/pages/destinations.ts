/**
 * Destinations: the list (`destinations`), the add form (`destinations/new`) and the edit form
 * (`destinations/<id>`), with both auth modes. Bucket-policy mode shows the policy to paste into the
 * bucket, with a copy button. A delete refused while jobs use the destination names those jobs.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { ExportJobView } from '../../../lambdas/core/export-jobs';
import { ApiError, type Api } from '../api';
import type { PageProps } from '../app';
import { Alert, ConfirmButton, CopyButton, Field, describedBy, messageOf, TextField, Time } from '../components';
import { noErrors, type PlacedErrors } from '../form-errors';
import { followLink, navigate, pagePath } from '../router';
import { DESTINATION_LABELS } from './data-export';
import { PROVIDER_FIELDS, PROVIDERS, type Provider } from './data-export-form';
import {
  blockingJobIds,
  bucketOf,
  destinationBody,
  destinationFormOf,
  emptyDestinationForm,
  placeDestinationErrors,
  type AuthMode,
  type DestinationForm,
  type DestinationFormField,
  type DestinationView,
} from './destination-form';

const destinationsPath = (environmentId: string) =>
  `/v1/environments/${encodeURIComponent(environmentId)}/destinations`;

export function DestinationsPage({ api, environmentId, subpath }: PageProps) {
  if (subpath === '') return html`<${DestinationList} api=${api} environmentId=${environmentId} />`;
  return html`<${DestinationEditor}
    key=${subpath}
    api=${api}
    environmentId=${environmentId}
    id=${subpath === 'new' ? undefined : decodeURIComponent(subpath)}
  />`;
}

/** Where a destination writes, in one line. */
const whereOf = (destination: DestinationView) =>
  destination.provider === 'AWS' && destination.bucketUrl
    ? destination.bucketUrl
    : `${destination.bucket}${destination.key ? `/${destination.key}` : ''}${destination.endpoint ? ` at ${destination.endpoint}` : ''}`;

function DestinationList({ api, environmentId }: { api: Api; environmentId: string }) {
  const [destinations, setDestinations] = useState<DestinationView[]>();
  const [error, setError] = useState<string>();
  const [refusal, setRefusal] = useState<{
    name: string;
    message: string;
    jobs: { id: string; name: string | null }[];
  }>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    api
      .get<{ items: DestinationView[] }>(destinationsPath(environmentId))
      .then((answer) => setDestinations(answer.items))
      .catch((failure: unknown) => setError(messageOf(failure)));
  }, [api, environmentId, reload]);

  const remove = async (destination: DestinationView) => {
    setRefusal(undefined);
    try {
      await api.delete(`${destinationsPath(environmentId)}/${encodeURIComponent(destination.id)}`);
      setReload((n) => n + 1);
    } catch (failure) {
      if (!(failure instanceof ApiError) || failure.code !== 'destination_in_use') {
        setRefusal({ name: destination.name, message: messageOf(failure), jobs: [] });
        return;
      }
      // The refusal names the jobs by id: their names make them recognizable.
      const jobs = await Promise.all(
        blockingJobIds(failure.message).map((id) =>
          api
            .get<ExportJobView>(
              `/v1/environments/${encodeURIComponent(environmentId)}/export-jobs/${encodeURIComponent(id)}`,
            )
            .then((job) => ({ id, name: job.name }))
            .catch(() => ({ id, name: null })),
        ),
      );
      setRefusal({ name: destination.name, message: failure.message, jobs });
    }
  };

  return html`
    <p class="lead">
      Named buckets that export jobs and the raw export write into, with an access key or a bucket policy for the
      service's export role (enterprise plan).
    </p>
    <p>
      <a class="button" href=${pagePath(environmentId, 'destinations/new')} onClick=${followLink}>Add destination</a>
    </p>
    ${error ? html`<${Alert} message=${error} />` : null}
    ${
      refusal
        ? html`<div class="alert" role="alert">
            <p>${refusal.name} was not deleted. ${refusal.message}</p>
            ${
              refusal.jobs.length > 0
                ? html`<p>Jobs using it:</p>
                    <ul>
                      ${refusal.jobs.map(
                        (job) =>
                          html`<li>
                            <a
                              href=${pagePath(environmentId, `export-jobs/${encodeURIComponent(job.id)}`)}
                              onClick=${followLink}
                              >${job.name ?? job.id}</a
                            >
                            (${job.id})
                          </li>`,
                      )}
                    </ul>`
                : null
            }
          </div>`
        : null
    }
    ${destinations === undefined && !error ? html`<p role="status">Loading destinations…</p>` : null}
    ${destinations?.length === 0 ? html`<p>No destinations yet.</p>` : null}
    ${
      destinations && destinations.length > 0
        ? html`<div class="table-scroll" role="region" aria-label="Destinations" tabindex="0">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Where</th>
                  <th scope="col">Access</th>
                  <th scope="col">Updated</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                ${destinations.map(
                  (destination) =>
                    html`<tr key=${destination.id}>
                      <td>
                        <a
                          href=${pagePath(environmentId, `destinations/${encodeURIComponent(destination.id)}`)}
                          onClick=${followLink}
                          >${destination.name}</a
                        >
                      </td>
                      <td>${destination.provider}</td>
                      <td class="key">${whereOf(destination)}</td>
                      <td>
                        ${destination.auth.mode === 'accessKey' ? `Access key ${destination.auth.accessKeyId}` : 'Bucket policy'}
                      </td>
                      <td><${Time} value=${destination.updatedAt} /></td>
                      <td>
                        <${ConfirmButton}
                          label=${`Delete ${destination.name}`}
                          question=${`Delete the destination ${destination.name}?`}
                          confirmLabel="Delete"
                          onConfirm=${() => remove(destination)}
                        />
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
  `;
}

function DestinationEditor({ api, environmentId, id }: { api: Api; environmentId: string; id?: string }) {
  const [stored, setStored] = useState<DestinationView>();
  const [form, setForm] = useState<DestinationForm | undefined>(id ? undefined : emptyDestinationForm());
  const [loadError, setLoadError] = useState<string>();
  const [errors, setErrors] = useState<PlacedErrors<DestinationFormField>>(noErrors());
  const [saving, setSaving] = useState(false);

  const load = () => {
    if (!id) return;
    api
      .get<DestinationView>(`${destinationsPath(environmentId)}/${encodeURIComponent(id)}`)
      .then((view) => {
        setStored(view);
        setForm(destinationFormOf(view));
        setErrors(noErrors());
      })
      .catch((failure: unknown) => setLoadError(messageOf(failure)));
  };
  useEffect(load, [api, environmentId, id]);

  if (loadError) return html`<${Alert} message=${loadError} />`;
  if (!form) return html`<p role="status">Loading the destination…</p>`;

  const set = <K extends keyof DestinationForm>(field: K, value: DestinationForm[K]) =>
    setForm({ ...form, [field]: value });
  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    try {
      const body = destinationBody(form, stored?.version);
      if (stored) await api.put(`${destinationsPath(environmentId)}/${encodeURIComponent(stored.id)}`, body);
      else await api.post(destinationsPath(environmentId), body);
      navigate(pagePath(environmentId, 'destinations'));
    } catch (failure) {
      if (!(failure instanceof ApiError)) throw failure;
      setErrors(placeDestinationErrors(failure, form));
      setSaving(false);
    }
  };

  const text = (
    field: DestinationFormField & keyof DestinationForm,
    label: string,
    options: { hint?: string; type?: string; placeholder?: string; autocomplete?: string } = {},
  ) =>
    html`<${TextField}
      id=${field}
      label=${label}
      value=${form[field]}
      onValue=${(value: string) => set(field, value)}
      error=${errors.fields[field]}
      ...${options}
    />`;
  const storedKey = stored?.auth.mode === 'accessKey' ? stored.auth.accessKeyId : undefined;

  return html`
    <h2>${stored ? `Edit ${stored.name}` : 'Add a destination'}</h2>
    <p><a href=${pagePath(environmentId, 'destinations')} onClick=${followLink}>Back to the destinations</a></p>
    <form onSubmit=${save} novalidate>
      ${
        errors.form
          ? html`<div class="alert" role="alert">
              <p>${errors.form}</p>
              ${errors.conflict ? html`<button type="button" onClick=${load}>Reload the destination</button>` : null}
            </div>`
          : Object.keys(errors.fields).length > 0
            ? html`<div class="alert" role="alert"><p>Not saved: see the fields marked below.</p></div>`
            : null
      }
      ${text('name', 'Name', { hint: 'How jobs and this list show it' })}
      <${Field} id="provider" label="S3 provider" error=${errors.fields.provider}>
        <select
          ...${describedBy('provider', false, errors.fields.provider)}
          name="provider"
          value=${form.provider}
          onChange=${(e: Event) => set('provider', (e.currentTarget as HTMLSelectElement).value as Provider)}
        >
          ${PROVIDERS.map((provider) => html`<option value=${provider}>${provider}</option>`)}
        </select>
      <//>
      <fieldset>
        <legend>${form.provider === 'AWS' ? 'S3 bucket' : `${form.provider} bucket`}</legend>
        ${PROVIDER_FIELDS[form.provider].map((field) => text(field, DESTINATION_LABELS[field].label, { hint: DESTINATION_LABELS[field].hint }))}
      </fieldset>
      <fieldset aria-describedby=${errors.fields.mode ? 'mode-error' : undefined}>
        <legend>Access</legend>
        ${(
          [
            ['accessKey', 'Access key: the service writes with your key'],
            ['bucketPolicy', "Bucket policy: your bucket grants the service's export role writes"],
          ] as [AuthMode, string][]
        ).map(
          ([mode, label]) =>
            html`<div class="radio">
              <input
                type="radio"
                id=${`mode-${mode}`}
                name="mode"
                value=${mode}
                checked=${form.mode === mode}
                onChange=${() => set('mode', mode)}
              />
              <label for=${`mode-${mode}`}>${label}</label>
            </div>`,
        )}
        ${errors.fields.mode ? html`<p class="error" id="mode-error" role="alert">${errors.fields.mode}</p>` : null}
        ${
          form.mode === 'accessKey'
            ? html`${text('accessKeyId', form.provider === 'GCP' ? 'Access key (HMAC key id)' : 'Access key', {
                hint: storedKey
                  ? `Stored: ${storedKey}. Type the key id again to save; with the same key id, an empty secret keeps the stored one.`
                  : undefined,
                placeholder: storedKey,
              })}
              ${text('secretAccessKey', form.provider === 'GCP' ? 'Secret (HMAC secret)' : 'Secret access key', {
                hint:
                  stored?.auth.mode === 'accessKey'
                    ? 'Unchanged: leave empty to keep the stored secret.'
                    : 'Checked by listing the bucket, then kept encrypted; never shown again.',
                type: 'password',
                placeholder: stored?.auth.mode === 'accessKey' ? 'unchanged' : undefined,
                autocomplete: 'new-password',
              })}`
            : html`<${BucketPolicy} api=${api} environmentId=${environmentId} bucket=${bucketOf(form)} />`
        }
      </fieldset>
      <div class="actions">
        <button type="submit" disabled=${saving}>
          ${saving ? 'Checking the bucket and saving…' : 'Save destination'}
        </button>
      </div>
    </form>
  `;
}

/** How long the bucket's name must rest before its policy is asked for. */
const POLICY_DELAY_MS = 300;

/** The policy to paste into the bucket, for the bucket named so far. */
function BucketPolicy({ api, environmentId, bucket }: { api: Api; environmentId: string; bucket?: string }) {
  const [policy, setPolicy] = useState<{ bucket: string; text?: string; error?: string }>();
  useEffect(() => {
    if (!bucket) return;
    let current = true;
    const timer = setTimeout(() => {
      api
        .get<{ policy: unknown }>(
          `${destinationsPath(environmentId)}/bucket-policy?bucket=${encodeURIComponent(bucket)}`,
        )
        .then((answer) => current && setPolicy({ bucket, text: JSON.stringify(answer.policy, null, 2) }))
        .catch((failure: unknown) => current && setPolicy({ bucket, error: messageOf(failure) }));
    }, POLICY_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, environmentId, bucket]);

  if (!bucket) return html`<p class="hint">Enter the bucket above to see the policy to paste into it.</p>`;
  if (!policy || policy.bucket !== bucket) return html`<p role="status">Preparing the policy for ${bucket}…</p>`;
  if (policy.error) return html`<p class="error">${policy.error}</p>`;
  return html`<div class="policy">
    <p class="hint" id="policy-hint">
      Paste this policy into the bucket's permissions, then save: saving writes an empty
      <code>.export-access-check</code> object as the service's export role to prove it works.
    </p>
    <pre tabindex="0" aria-label=${`Bucket policy for ${bucket}`} aria-describedby="policy-hint">${policy.text}</pre>
    <${CopyButton} text=${policy.text!} label="Copy policy" />
  </div>`;
}
