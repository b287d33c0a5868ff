/**
 * The raw export page's contract and logic, apart from its view: the settings and status the API
 * answers (DESIGN "Raw revisions"), and the body a save sends.
 */
import { parseEmails } from './data-export-form';

export interface RawExportSettings {
  enabled: boolean;
  destinationId: string | null;
  notifyEmails: string[];
  version?: number;
}

export interface RawExportStatus {
  totalRevisions: number;
  exportedRevisions: number;
  /** Unix seconds of the newest item exported. */
  maxExportedTimestamp: number | null;
  maxExportedAt: string | null;
  lastRunAt: string | null;
  nextRunAt: string | null;
  status: 'never ran before' | 'successful' | 'failed' | 'stopped';
  error: string | null;
}

/** The PUT body: what the form holds, and the version read when the API gave one. */
export function rawExportBody(form: { enabled: boolean; destinationId: string; notifyEmails: string }, version: number | undefined): Record<string, unknown> {
  return {
    enabled: form.enabled,
    ...(form.destinationId ? { destinationId: form.destinationId } : {}),
    notifyEmails: parseEmails(form.notifyEmails),
    ...(version !== undefined ? { version } : {}),
  };
}

