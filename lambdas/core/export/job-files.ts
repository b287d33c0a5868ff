/**
 * Export-job files (DESIGN "Export jobs": Files and Content): what one exported event or profile is,
 * the formats that encode them, and the names of the objects they go to.
 *
 * A format encodes one row at a time into text (or, for Parquet, into row groups): the chunker
 * (`chunked-files.ts`) needs each row's size before it adds it, to close a chunk before it would pass
 * its limit, and each chunk is a complete file with its own header and trailer.
 */
import type { JsonValue } from '../raw-log';

export const IDENTITY_FIELDS = ['identity', 'email', 'phone'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** The profile part of an exported event or profile: the identity column, then email and phone when known. */
export interface ExportedProfile {
  identity?: string;
  email?: string;
  phone?: string;
}

export interface ExportedEvent {
  name: string;
  /** When the event happened, epoch ms. */
  timestamp: number;
  profile: ExportedProfile;
  /** The client's context, when it was an object (XML `deviceInfo`). */
  deviceInfo?: Record<string, JsonValue>;
  properties: Record<string, JsonValue>;
}

export interface ExportedUserProfile {
  profile: ExportedProfile;
  attributes: Record<string, JsonValue>;
}

/**
 * The identity column: the first present of the job's priority. The default, `identity` then `email`
 * then `phone`, puts the user id first and falls back to the contact fields a user may have instead.
 */
export const DEFAULT_IDENTITY_PRIORITY: readonly IdentityField[] = ['identity', 'email', 'phone'];

export function prioritizedProfile(
  known: { userId?: string; email?: string; phone?: string },
  priority: readonly IdentityField[] = DEFAULT_IDENTITY_PRIORITY,
): ExportedProfile {
  const profile: ExportedProfile = {};
  for (const field of priority) {
    const value = field === 'identity' ? known.userId : known[field];
    if (value !== undefined && value !== '') {
      profile.identity = value;
      break;
    }
  }
  if (known.email !== undefined) profile.email = known.email;
  if (known.phone !== undefined) profile.phone = known.phone;
  return profile;
}

/** A property value as the file holds it: as sent, or as text when the job asks `asString`. */
export function propertyValue(value: JsonValue, asString: boolean): JsonValue {
  if (!asString || typeof value === 'string') return value;
  return value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** yyyymmddHHMMSS (UTC) as a number, CleverTap's `ts`. */
export function compactTimestamp(at: number): number {
  const date = new Date(at);
  return Number(
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
      `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`,
  );
}

/** yyyymmdd of the UTC day holding `at`. */
export function utcDay(at: number): string {
  return String(compactTimestamp(at)).slice(0, 8);
}

/**
 * A name as it may appear in a file name: whitespace (tab included), `/` and NUL become `-`, other
 * control characters (C0, DEL, C1) become `?`.
 */
export function fileNamePart(text: string): string {
  return text.replace(/[\s/\0]/g, '-').replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

export type FileFormatName = 'json' | 'xml' | 'csv' | 'parquet';
export type Compression = 'gzip' | 'none';

/** `json`, `xml`, `csv` (+ `.gz` when gzip-compressed), or `parquet.gzip` / `parquet` (its own codec). */
export function fileExtension(format: FileFormatName, compression: Compression): string {
  if (format === 'parquet') return compression === 'gzip' ? 'parquet.gzip' : 'parquet';
  return compression === 'gzip' ? `${format}.gz` : format;
}

/** `<key>/` or nothing: the destination's key prefix without a trailing slash doubled. */
const prefixed = (keyPrefix: string, name: string) =>
  keyPrefix === '' ? name : `${keyPrefix.replace(/\/+$/, '')}/${name}`;

/** `<key>/<jobId>-<runTs>-<event>-<yyyymmdd>-<index>-<envId>.<ext>` */
export function eventFileKey(parts: {
  keyPrefix: string;
  jobId: string;
  runTs: number;
  event: string;
  day: string;
  index: number;
  environmentId: string;
  extension: string;
}): string {
  const name = [parts.jobId, parts.runTs, fileNamePart(parts.event), parts.day, parts.index, parts.environmentId].join(
    '-',
  );
  return prefixed(parts.keyPrefix, `${name}.${parts.extension}`);
}

/** `<key>/<orgId>-<jobId>-<runTs>-<envId>-<index>.<ext>` */
export function profileFileKey(parts: {
  keyPrefix: string;
  organizationId: string;
  jobId: string;
  runTs: number;
  environmentId: string;
  index: number;
  extension: string;
}): string {
  const name = [parts.organizationId, parts.jobId, parts.runTs, parts.environmentId, parts.index].join('-');
  return prefixed(parts.keyPrefix, `${name}.${parts.extension}`);
}
