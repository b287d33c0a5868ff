/**
 * The raw export page's logic, apart from its view: the settings and status the API answers
 * (docs/raw-revisions.md), the form a member edits and the body a save sends.
 */
import type {
  RawExportSettingsInput,
  RawExportSettingsView,
  RawExportStatusView,
} from '../../../lambdas/core/raw-revisions';
import { parseEmails } from './data-export-form';

export type { RawExportSettingsView, RawExportStatusView };

export interface RawExportForm {
  enabled: boolean;
  /** '' while none is chosen. */
  destinationId: string;
  notifyEmails: string;
}

/**
 * The form of the stored settings. A destination deleted since it was saved (allowed while the export
 * is off) is not offered: the member chooses again.
 */
export function rawExportForm(settings: RawExportSettingsView, destinationIds: readonly string[]): RawExportForm {
  const destinationId =
    settings.destinationId !== null && destinationIds.includes(settings.destinationId) ? settings.destinationId : '';
  return { enabled: settings.enabled, destinationId, notifyEmails: settings.notifyEmails.join(', ') };
}

/** The PUT body: what the form holds, and the version read (a stale one is refused with 409). */
export function rawExportBody(form: RawExportForm, version: number): RawExportSettingsInput {
  return {
    enabled: form.enabled,
    ...(form.destinationId ? { destinationId: form.destinationId } : {}),
    notifyEmails: parseEmails(form.notifyEmails),
    version,
  };
}
