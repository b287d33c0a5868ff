/**
 * The three warning emails of a failing automatic export: plain, specific words (which environment,
 * which bucket, what failed, how to fix it, the deadline in UTC) as text and as HTML.
 */
import type { Destination } from './destination';
import type { EmailMessage } from '../ports';

export type WarningNumber = 1 | 2 | 3;

export interface FailureEmailContext {
  environmentName: string;
  destination: Destination;
  error: string;
  failingSince: number;
  /** When the export is (or was) stopped: failingSince + 72 h. */
  stopAt: number;
  now: number;
  settingsUrl: string;
  to: string[];
}

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const count = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

function hoursLeft(context: FailureEmailContext): string {
  const hours = Math.max(0, Math.floor((context.stopAt - context.now) / 3_600_000));
  return hours >= 24 ? `${count(Math.floor(hours / 24), 'day')} and ${count(hours % 24, 'hour')}` : count(hours, 'hour');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function failureEmail(number: WarningNumber, context: FailureEmailContext): EmailMessage {
  const where = `${context.destination.provider} bucket "${context.destination.bucket}"${context.destination.keyPrefix ? ` (folder "${context.destination.keyPrefix}/")` : ''}`;
  const subject =
    number === 3
      ? `Automatic export stopped for ${context.environmentName}`
      : number === 2
        ? `Reminder: automatic export for ${context.environmentName} still failing, stops ${utc(context.stopAt)}`
        : `Automatic export for ${context.environmentName} is failing`;
  const paragraphs =
    number === 3
      ? [
          `The automatic export of environment "${context.environmentName}" to the ${where} has failed since ${utc(context.failingSince)} and has now been stopped. No further exports will run until you fix the settings and turn automatic export on again.`,
          `The last error: ${context.error}`,
          `Fix the destination and enable the export again here: ${context.settingsUrl}`,
        ]
      : [
          `The automatic export of environment "${context.environmentName}" to the ${where} has been failing since ${utc(context.failingSince)}.`,
          `The error: ${context.error}`,
          `Fix the settings here: ${context.settingsUrl}`,
          `If it is not fixed by ${utc(context.stopAt)} (${hoursLeft(context)} from now), the export will be stopped.`,
        ];
  const text = `${paragraphs.join('\n\n')}\n`;
  const html = `<!doctype html><html><body>${paragraphs
    .map((p) => `<p>${escapeHtml(p).replace(escapeHtml(context.settingsUrl), `<a href="${escapeHtml(context.settingsUrl)}">${escapeHtml(context.settingsUrl)}</a>`)}</p>`)
    .join('')}</body></html>`;
  return { to: context.to, subject, text, html };
}
