/** Small shared views: labelled fields with their error, timestamps, sizes, alerts, confirmations and copying. */
import type { ComponentChildren } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/** A visible label, the control, a hint and the API's message for this field (announced, linked by aria-describedby). */
export function Field(props: {
  id: string;
  label: string;
  hint?: string;
  error?: string;
  children: ComponentChildren;
}) {
  return html`<div class=${`field${props.error ? ' invalid' : ''}`}>
    <label for=${props.id}>${props.label}</label>
    ${props.children} ${props.hint ? html`<p class="hint" id=${`${props.id}-hint`}>${props.hint}</p>` : null}
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
  return html`<time
    datetime=${date.toISOString()}
    title=${date.toISOString().replace('.000Z', 'Z').replace('T', ' ').replace('Z', ' UTC')}
    >${date.toLocaleString()}</time
  >`;
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

export const formatCount = (count: number | null | undefined): string =>
  count === null || count === undefined ? '—' : count.toLocaleString();

export function Alert({ message, children }: { message: string; children?: ComponentChildren }) {
  return html`<div class="alert" role="alert">
    <p>${message}</p>
    ${children}
  </div>`;
}

/**
 * A destructive action asked twice: the button opens a confirmation (its question, then confirm or
 * cancel, focus on cancel), and only the confirm button acts; the confirmation closes once the action
 * is done.
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
}) {
  const [state, setState] = useState<'closed' | 'asking' | 'acting'>('closed');
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (state === 'asking') cancel.current?.focus();
  }, [state]);
  const confirm = async () => {
    setState('acting');
    try {
      await props.onConfirm();
    } finally {
      setState('closed');
    }
  };
  if (state === 'closed')
    return html`<button type="button" class="secondary danger" onClick=${() => setState('asking')}>
      ${props.label}
    </button>`;
  return html`<div class="confirm" role="group" aria-label=${props.question}>
    <p>${props.question}</p>
    <div class="actions">
      <button type="button" class="danger" disabled=${state === 'acting'} onClick=${() => void confirm()}>
        ${props.confirmLabel}
      </button>
      <button
        type="button"
        class="secondary"
        ref=${cancel}
        disabled=${state === 'acting'}
        onClick=${() => setState('closed')}
      >
        Cancel
      </button>
    </div>
  </div>`;
}

/** Copies text to the clipboard and says so; where the clipboard is refused, says to select and copy. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [result, setResult] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setResult('Copied.');
    } catch {
      setResult('The browser refused the clipboard: select the text and copy it.');
    }
  };
  return html`<span class="actions"
    ><button type="button" class="secondary" onClick=${() => void copy()}>${label}</button
    >${result ? html`<span role="status">${result}</span>` : null}</span
  >`;
}

/** The message of anything a request threw: the API's own words, else the error's. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A labelled text input with its hint and error. */
export function TextField(props: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: string;
  error?: string;
  type?: string;
  placeholder?: string;
  autocomplete?: string;
  required?: boolean;
}) {
  return html`<${Field} id=${props.id} label=${props.label} hint=${props.hint} error=${props.error}>
    <input
      ...${describedBy(props.id, Boolean(props.hint), props.error)}
      name=${props.id}
      type=${props.type ?? 'text'}
      value=${props.value}
      placeholder=${props.placeholder}
      autocomplete=${props.autocomplete ?? 'off'}
      spellcheck=${false}
      aria-required=${props.required ? 'true' : undefined}
      onInput=${(event: Event) => props.onValue((event.currentTarget as HTMLInputElement).value)}
    />
  <//>`;
}
