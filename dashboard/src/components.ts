/** Small shared views: labelled fields with their error, timestamps, sizes and alerts. */
import type { ComponentChildren } from 'preact';
import { html } from 'htm/preact';

/** A visible label, the control, a hint and the API's message for this field (announced, linked by aria-describedby). */
export function Field(props: { id: string; label: string; hint?: string; error?: string; children: ComponentChildren }) {
  return html`<div class=${`field${props.error ? ' invalid' : ''}`}>
    <label for=${props.id}>${props.label}</label>
    ${props.children}
    ${props.hint ? html`<p class="hint" id=${`${props.id}-hint`}>${props.hint}</p>` : null}
    ${props.error ? html`<p class="error" id=${`${props.id}-error`} role="alert">${props.error}</p>` : null}
  </div>`;
}

/** Attributes a control needs to point at its hint and error. */
export function describedBy(id: string, hint: boolean, error: string | undefined) {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, 'aria-describedby': ids || undefined, 'aria-invalid': error ? 'true' : undefined };
}

/** A timestamp in the user's time zone, with UTC on hover. */
export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return html`<span>—</span>`;
  const date = new Date(value);
  return html`<time datetime=${date.toISOString()} title=${date.toISOString().replace('.000Z', 'Z').replace('T', ' ').replace('Z', ' UTC')}>${date.toLocaleString()}</time>`;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const formatCount = (count: number | null | undefined): string => (count === null || count === undefined ? '—' : count.toLocaleString());

export function Alert({ message, children }: { message: string; children?: ComponentChildren }) {
  return html`<div class="alert" role="alert"><p>${message}</p>${children}</div>`;
}
