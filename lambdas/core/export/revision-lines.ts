/**
 * The raw revisions export's file formats (KISSmetrics style): one JSON line per raw-log record, with
 * `_p` (the person), `_p2` (an alias's second identity), `_t` (unix seconds) and `_n` (the event name)
 * first, then the record's properties by name; and the two CSV guide files, `status.csv` and
 * `index.csv`.
 */
import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';
import type { RawRecord } from '../raw-log';

/** The fields the export writes first; a property of the same name gives way to them. */
export const RESERVED_FIELDS = new Set(['_p', '_p2', '_t', '_n']);

/** Unix seconds of the item's time (its receive time when the client sent none). */
export const unixSeconds = (record: RawRecord): number => Math.floor((record.timestamp ?? record.receivedAt) / 1000);

/** `YYYY-MM-DD HH:MM:SS` (UTC) of unix seconds. */
export const utcTimestamp = (seconds: number): string =>
  new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');

/** The person a record is about: the user id, else `company:<companyId>`. */
function person(record: RawRecord): string | undefined {
  if (record.userId !== undefined) return record.userId;
  return record.companyId === undefined ? undefined : `company:${record.companyId}`;
}

/**
 * One revision line (without its newline), written as text: `_p`, `_p2`, `_t`, `_n`, then the
 * properties sorted by name (an object would put names like "1" first). Events and feedback carry
 * `_n`; user and company items are properties without an event; an alias line carries `_p2`.
 */
export function revisionLine(record: RawRecord): string {
  let line = revisionLineStart(record);
  const attributes = record.attributes ?? {};
  for (const name of Object.keys(attributes).sort()) {
    if (!RESERVED_FIELDS.has(name)) line += `,${JSON.stringify(name)}:${JSON.stringify(attributes[name])}`;
  }
  return line + '}';
}

/** A revision line's `_p`, `_p2`, `_t` and `_n`: its text up to the properties. */
export function revisionLineStart(record: RawRecord): string {
  const who = person(record);
  let line = who === undefined ? '{' : `{"_p":${JSON.stringify(who)},`;
  if (record.type === 'alias' && record.alias !== undefined) line += `"_p2":${JSON.stringify(record.alias)},`;
  line += `"_t":${unixSeconds(record)}`;
  if ((record.type === 'event' || record.type === 'feedback') && record.event !== undefined)
    line += `,"_n":${JSON.stringify(record.event)}`;
  return line;
}

/** One exported revision as the index and the status remember it. */
export interface RevisionSummary {
  /** The revision's number: `revisions/<n>.json`. */
  n: number;
  /** Unix seconds of its lines' smallest and largest `_t`; absent for a revision without lines. */
  minTimestamp?: number;
  maxTimestamp?: number;
}

export const revisionFileName = (n: number): string => `revisions/${n}.json`;

export const STATUS_COLUMNS = [
  'Total Revisions',
  'Exported Revisions',
  'Max Exported Revision Timestamp',
  'Max Exported Revision UTC Timestamp',
];
export const INDEX_COLUMNS = [
  'Filename',
  'Minimum Timestamp',
  'Maximum Timestamp',
  'Minimum UTC Timestamp',
  'Maximum UTC Timestamp',
];

const utcOrEmpty = (seconds: number | undefined) => (seconds === undefined ? '' : utcTimestamp(seconds));

/** `status.csv`: its header and one row. */
export function statusCsv(status: {
  totalRevisions: number;
  exportedRevisions: number;
  maxExportedTimestamp?: number;
}): string {
  return stringifySync([
    STATUS_COLUMNS,
    [
      status.totalRevisions,
      status.exportedRevisions,
      status.maxExportedTimestamp ?? '',
      utcOrEmpty(status.maxExportedTimestamp),
    ],
  ]);
}

/** `index.csv`, streamed: its header, then one row per exported revision in number order. */
export function indexCsv(revisions: AsyncIterable<RevisionSummary>): Readable {
  async function* rows() {
    yield INDEX_COLUMNS;
    for await (const revision of revisions) {
      yield [
        revisionFileName(revision.n),
        revision.minTimestamp ?? '',
        revision.maxTimestamp ?? '',
        utcOrEmpty(revision.minTimestamp),
        utcOrEmpty(revision.maxTimestamp),
      ];
    }
  }
  const csv = stringify();
  // pipeline, not pipe: a failed read of the revisions fails the CSV stream (and so its upload).
  pipeline(Readable.from(rows()), csv, () => undefined);
  return csv;
}
