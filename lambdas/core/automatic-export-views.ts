/**
 * What the API shows of the automatic export: its settings (secrets masked), status and run history.
 * Types only, so the dashboard can share them without the server's modules.
 */
import type { Provider } from './destination';
import type { RunStatus } from './model';
import type { Cadence } from './periods';

export interface SettingsView {
  enabled: boolean;
  cadence: Cadence;
  provider: Provider | null;
  bucketUrl: string | null;
  bucket: string | null;
  region: string | null;
  key: string | null;
  endpoint: string | null;
  /** Masked: only the last four characters are shown. */
  accessKeyId: string | null;
  secretAccessKeySet: boolean;
  notifyEmails: string[];
  updatedAt: string | null;
  stoppedAt: string | null;
  stoppedReason: string | null;
  /** Send it back with the next save: a save based on an older version is refused (409). */
  version: number;
}

export type ExportStatusLabel = 'never ran before' | 'successful' | 'failed' | 'stopped';

export interface StatusView {
  enabled: boolean;
  status: ExportStatusLabel;
  lastRunAt: string | null;
  nextRunAt: string | null;
  error: string | null;
  errorCode: string | null;
  failingSince: string | null;
}

export interface RunView {
  snapshotAt: string;
  date: string;
  cadence: Cadence;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  rowCount: number | null;
  byteCount: number | null;
  objectKey: string | null;
  error: string | null;
  attempts: number;
}
