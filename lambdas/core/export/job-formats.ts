/**
 * The four contents of export-job files (DESIGN "Export jobs": Content), for events and for profiles.
 * Each format opens files that take one row at a time: `encode` gives the row's encoded size before
 * `add`, so the chunker can close a file before the row would take it past its limit.
 */
import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { CsvRowEncoder } from './csv';
import { DayCachedTimes } from './day-cached-times';
import { PendingColumns } from './parquet-pending-columns';
import type { Cell } from './pipeline';
import {
  IDENTITY_FIELDS,
  propertyValue,
  type ExportedEvent,
  type ExportedProfile,
  type ExportedUserProfile,
  type FileFormatName,
} from './job-files';
import type { JsonValue } from '../raw-log';
import { xmlText } from './xml-text';

/** A row encoded for one file: its size in bytes is what the chunker counts. */
export interface EncodedRow {
  bytes: number;
}

/** One file being written. */
export interface OpenFile<Row> {
  encode(row: Row): EncodedRow;
  add(encoded: EncodedRow): void;
  /** The bytes the file will have once finished now (for Parquet, an estimate of the rows not yet in a row group). */
  readonly size: number;
  /** Output ready to write, if any. */
  take(): string | Uint8Array | undefined;
  /** The rest of the file: what is still buffered, and the trailer. */
  finish(): string | Uint8Array;
}

export interface RowFormat<Row> {
  contentType: string;
  open(): OpenFile<Row>;
}

/** Columns of the tabular formats (CSV, Parquet): the property keys of the rows, and their types. */
export interface PropertyColumns {
  keys: readonly string[];
  /** Per key, the type Parquet stores it as. */
  types: ReadonlyMap<string, ColumnType>;
}

export type ColumnType = 'number' | 'boolean' | 'text';

/**
 * The header names of the property columns, in the order of `keys`: each key's own name, unless a
 * fixed column or an earlier property column already has it, ignoring case (warehouses such as
 * DuckDB, BigQuery and Spark refuse or rename columns that differ only in case). Such a key takes the
 * path its JSON file gives it, `eventProps.<key>` or `profileProps.<key>`, and `_2`, `_3`, ... if that
 * is taken too: a profile's `email` attribute, next to the `email` column, is `profileProps.email`.
 */
export function propertyColumnNames(
  fixed: readonly string[],
  keys: readonly string[],
  scope: 'eventProps' | 'profileProps',
): string[] {
  const taken = new Set(fixed.map((name) => name.toLowerCase()));
  return keys.map((key) => {
    let name = key;
    if (taken.has(name.toLowerCase())) name = `${scope}.${key}`;
    for (let suffix = 2; taken.has(name.toLowerCase()); suffix++) name = `${scope}.${key}_${suffix}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/**
 * Collects the property keys of rows and the type of each key's values: number or boolean when all its
 * values are, text otherwise (and always with `asString`). A key seen only as null is text.
 */
export class PropertyColumnsCollector {
  private readonly types = new Map<string, ColumnType | undefined>();

  constructor(private readonly asString: boolean) {}

  see(properties: Record<string, JsonValue>): void {
    for (const key in properties) {
      const value = properties[key];
      const known = this.types.get(key);
      if (value === null) {
        if (!this.types.has(key)) this.types.set(key, undefined);
        continue;
      }
      const type: ColumnType = this.asString
        ? 'text'
        : typeof value === 'number'
          ? 'number'
          : typeof value === 'boolean'
            ? 'boolean'
            : 'text';
      if (known === undefined) this.types.set(key, type);
      else if (known !== type) this.types.set(key, 'text');
    }
  }

  columns(): PropertyColumns {
    const types = new Map<string, ColumnType>();
    for (const [key, type] of this.types) types.set(key, type ?? 'text');
    return { keys: [...types.keys()].sort(), types };
  }
}

/** Text formats: header, rows, trailer, each row a string; output handed out in pieces of about 64 KiB. */
class TextFile<Row> implements OpenFile<Row> {
  private pending: string;
  size: number;
  private readonly trailerBytes: number;

  constructor(
    header: string,
    private readonly encodeRow: (row: Row) => string,
    private readonly trailer: string,
  ) {
    this.pending = header;
    this.trailerBytes = Buffer.byteLength(trailer);
    this.size = Buffer.byteLength(header) + this.trailerBytes;
  }

  encode(row: Row): EncodedRow & { text: string } {
    const text = this.encodeRow(row);
    return { text, bytes: Buffer.byteLength(text) };
  }

  add(encoded: EncodedRow): void {
    this.pending += (encoded as EncodedRow & { text: string }).text;
    this.size += encoded.bytes;
  }

  take(): string | undefined {
    if (this.pending.length < 65_536) return undefined;
    const text = this.pending;
    this.pending = '';
    return text;
  }

  finish(): string {
    const text = this.pending + this.trailer;
    this.pending = '';
    return text;
  }
}

/** `encodeRow` is made per file (a file's rows share its caches). */
function textFormat<Row>(
  contentType: string,
  header: () => string,
  encodeRow: () => (row: Row) => string,
  trailer: string,
): RowFormat<Row> {
  return { contentType, open: () => new TextFile(header(), encodeRow(), trailer) };
}

const eventProps = (properties: Record<string, JsonValue>, asString: boolean): Record<string, JsonValue> => {
  if (!asString) return properties;
  const props: Record<string, JsonValue> = {};
  for (const key in properties) props[key] = propertyValue(properties[key], true);
  return props;
};

/**
 * Exported values as CSV cells: booleans and objects become text. A number that is not negative is
 * passed as its text, which csv-stringify writes as it writes the number (`'' + value`) and the row
 * encoder copies without a csv-stringify call (properties have many distinct numbers); a negative one
 * stays a number, since as text its `-` would be escaped as a formula.
 */
function cell(value: JsonValue | undefined): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return value >= 0 ? String(value) : value;
  if (typeof value === 'string') return value;
  return typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/** XML `<entry><key/><value/></entry>`s of a map; objects and arrays as JSON text. */
function xmlEntries(map: Record<string, JsonValue>): string {
  let text = '';
  for (const key in map) {
    const value = map[key];
    const shown = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    text += `<entry><key>${xmlText(key)}</key><value>${xmlText(shown)}</value></entry>`;
  }
  return text;
}

function xmlProfile(profile: ExportedProfile): string {
  let text = '';
  if (profile.identity !== undefined) text += `<identity>${xmlText(profile.identity)}</identity>`;
  if (profile.email !== undefined) text += `<email>${xmlText(profile.email)}</email>`;
  if (profile.phone !== undefined) text += `<phone>${xmlText(profile.phone)}</phone>`;
  return text;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** The identity, email and phone cells, from `cells[at]` on. */
function profileCells(profile: ExportedProfile, cells: Cell[], at: number): void {
  cells[at] = profile.identity ?? null;
  cells[at + 1] = profile.email ?? null;
  cells[at + 2] = profile.phone ?? null;
}

/** The cells of the property columns, from `cells[at]` on. */
function propertyCells(
  properties: Record<string, JsonValue>,
  keys: readonly string[],
  asString: boolean,
  cells: Cell[],
  at: number,
): void {
  for (let i = 0; i < keys.length; i++) cells[at + i] = cell(propertyValue(properties[keys[i]] ?? null, asString));
}

export interface EventFormatOptions {
  eventName: string;
  asString: boolean;
  /** The columns of CSV and Parquet files (the keys of this event's properties in the run). */
  columns: PropertyColumns;
}

/** The format of one event name's files. */
export function eventFormat(format: FileFormatName, options: EventFormatOptions): RowFormat<ExportedEvent> {
  const { eventName, asString, columns } = options;
  switch (format) {
    case 'json':
      return textFormat(
        'application/x-ndjson',
        () => JSON.stringify(eventName) + '\n',
        () => {
          const times = new DayCachedTimes();
          return (event) =>
            JSON.stringify({
              profile: event.profile,
              ts: times.compact(event.timestamp),
              eventProps: eventProps(event.properties, asString),
            }) + '\n';
        },
        '',
      );
    case 'xml':
      return textFormat(
        'application/xml',
        () => `${XML_DECLARATION}<Events>\n`,
        () => {
          const times = new DayCachedTimes();
          return (event) =>
            `<Event><ts>${times.compact(event.timestamp)}</ts><eventName>${xmlText(event.name)}</eventName>` +
            `<profile>${xmlProfile(event.profile)}</profile><deviceInfo>${xmlEntries(event.deviceInfo ?? {})}</deviceInfo>` +
            `<eventProps>${xmlEntries(eventProps(event.properties, asString))}</eventProps></Event>\n`;
        },
        '</Events>\n',
      );
    case 'csv':
      return csvFormat(['ts', 'eventName', ...IDENTITY_FIELDS], columns.keys, 'eventProps', () => {
        const times = new DayCachedTimes();
        return (event: ExportedEvent, cells: Cell[]) => {
          cells[0] = times.iso(event.timestamp);
          cells[1] = event.name;
          profileCells(event.profile, cells, 2);
          propertyCells(event.properties, columns.keys, asString, cells, 5);
        };
      });
    case 'parquet':
      return parquetFormat(
        [
          {
            name: 'ts',
            type: 'INT64',
            logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
            repetition_type: 'REQUIRED',
          },
          { name: 'eventName', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        ],
        columns,
        'eventProps',
        // The epoch ms as a number: hyparquet-writer converts it to INT64 per row group, and a row group
        // in waiting holds plain doubles rather than a BigInt per row.
        (event: ExportedEvent) => [event.timestamp, event.name],
        (event) => event.profile,
        (event) => event.properties,
        asString,
      );
  }
}

/** The format of a profile job's files: one object, element or row per profile. */
export function profileFormat(
  format: FileFormatName,
  options: { asString: boolean; columns: PropertyColumns },
): RowFormat<ExportedUserProfile> {
  const { asString, columns } = options;
  switch (format) {
    case 'json':
      return textFormat(
        'application/x-ndjson',
        () => '',
        () => (user) =>
          JSON.stringify({ profile: user.profile, profileProps: eventProps(user.attributes, asString) }) + '\n',
        '',
      );
    case 'xml':
      return textFormat(
        'application/xml',
        () => `${XML_DECLARATION}<Profiles>\n`,
        () => (user) =>
          `<Profile><profile>${xmlProfile(user.profile)}</profile><profileProps>${xmlEntries(eventProps(user.attributes, asString))}</profileProps></Profile>\n`,
        '</Profiles>\n',
      );
    case 'csv':
      return csvFormat(
        IDENTITY_FIELDS,
        columns.keys,
        'profileProps',
        () => (user: ExportedUserProfile, cells: Cell[]) => {
          profileCells(user.profile, cells, 0);
          propertyCells(user.attributes, columns.keys, asString, cells, 3);
        },
      );
    case 'parquet':
      return parquetFormat(
        [],
        columns,
        'profileProps',
        () => [],
        (user) => user.profile,
        (user) => user.attributes,
        asString,
      );
  }
}

/**
 * CSV by csv-stringify, through the company CSV's row encoder (csv-stringify's bytes, each distinct
 * value encoded once). Performance: events seldom repeat the previous row's cells, so each cell is
 * encoded on its own (`encodeCells`, none of the column groups' bookkeeping), and `fill` (made per
 * file) writes a row's cells into one array the file reuses (no spread arrays per row). Measured gain
 * (CPU profiles, 200,000 events): encoding 1.42 s -> 0.49 s. test/unit/export-job-csv.test.ts checks
 * the rows against csv-stringify's plain rows.
 */
function csvFormat<Row>(
  fixed: readonly string[],
  keys: readonly string[],
  scope: 'eventProps' | 'profileProps',
  fill: () => (row: Row, cells: Cell[]) => void,
): RowFormat<Row> {
  const columns = [...fixed, ...propertyColumnNames(fixed, keys, scope)];
  return {
    contentType: 'text/csv; charset=utf-8',
    open: () => {
      const rows = new CsvRowEncoder(columns.length);
      const fillCells = fill();
      const cells = new Array<Cell>(columns.length).fill(null);
      return new TextFile(
        CsvRowEncoder.header(columns),
        (row: Row) => {
          fillCells(row, cells);
          return rows.encodeCells(cells);
        },
        '',
      );
    },
  };
}

/**
 * A Parquet row group is encoded once it has this many rows or about this many bytes of values: a run
 * keeps one open file per event name and day, each holding one row group's values in memory.
 */
const ROW_GROUP_ROWS = 10_000;
const ROW_GROUP_BYTES = 1024 * 1024;
/**
 * Room kept for the footer when estimating a file's size: the schema, and per row group and column its
 * metadata and statistics (measured at under 200 bytes with short values).
 */
const parquetFooterEstimate = (columns: number, rowGroups: number) =>
  1024 + columns * 64 + (rowGroups + 1) * columns * 256;

const gzip = (input: Uint8Array): Uint8Array => gzipSync(input);

/**
 * Parquet by hyparquet-writer, GZIP codec: rows gather into columns and each full row group is encoded
 * and handed out, so a file's memory is one row group's values whatever its size.
 */
function parquetFormat<Row>(
  fixedSchema: SchemaElement[],
  columns: PropertyColumns,
  scope: 'eventProps' | 'profileProps',
  fixedValues: (row: Row) => unknown[],
  profile: (row: Row) => ExportedProfile,
  properties: (row: Row) => Record<string, JsonValue>,
  asString: boolean,
): RowFormat<Row> {
  const identitySchema: SchemaElement[] = IDENTITY_FIELDS.map((name) => ({
    name,
    type: 'BYTE_ARRAY',
    converted_type: 'UTF8',
    repetition_type: 'OPTIONAL',
  }));
  const fixedNames = [...fixedSchema, ...identitySchema].map((element) => element.name);
  const names = propertyColumnNames(fixedNames, columns.keys, scope);
  const propertySchema: SchemaElement[] = columns.keys.map((key, index) => {
    const name = names[index];
    const type = columns.types.get(key) ?? 'text';
    return type === 'number'
      ? { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
      : type === 'boolean'
        ? { name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' }
        : { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
  });
  const leaves = [...fixedSchema, ...identitySchema, ...propertySchema];
  const schema: SchemaElement[] = [{ name: 'root', num_children: leaves.length }, ...leaves];
  const valueOf = (key: string, value: JsonValue | undefined): unknown => {
    if (value === undefined || value === null) return null;
    const type = columns.types.get(key) ?? 'text';
    if (type !== 'text' && !asString) return value;
    return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  };
  return {
    contentType: 'application/vnd.apache.parquet',
    open: () =>
      new ParquetFile<Row>(schema, (row) => {
        const user = profile(row);
        const props = properties(row);
        return [
          ...fixedValues(row),
          user.identity ?? null,
          user.email ?? null,
          user.phone ?? null,
          ...columns.keys.map((key) => valueOf(key, props[key])),
        ];
      }),
  };
}

/** A ByteWriter whose flushes hand out what was written so far. */
class FlushingWriter extends ByteWriter {
  readonly ready: Uint8Array[] = [];

  flush(): void {
    this.ready.push(new Uint8Array(this.buffer.slice(0, this.index)));
    this.index = 0;
  }
}

class ParquetFile<Row> implements OpenFile<Row> {
  private readonly out = new FlushingWriter();
  private readonly writer: ParquetWriter;
  private readonly columns: PendingColumns;
  private pendingBytes = 0;

  constructor(
    private readonly schema: SchemaElement[],
    private readonly values: (row: Row) => unknown[],
  ) {
    this.writer = new ParquetWriter({ writer: this.out, schema, codec: 'GZIP', compressors: { GZIP: gzip } });
    this.columns = new PendingColumns(
      schema
        .slice(1)
        .map((leaf) => (leaf.type === 'BYTE_ARRAY' ? 'text' : leaf.type === 'BOOLEAN' ? 'boolean' : 'number')),
    );
  }

  get size(): number {
    return (
      this.out.offset + this.pendingBytes + parquetFooterEstimate(this.schema.length - 1, this.writer.row_groups.length)
    );
  }

  encode(row: Row): EncodedRow & { values: unknown[] } {
    const values = this.values(row);
    let bytes = 0;
    for (const value of values) bytes += typeof value === 'string' ? Buffer.byteLength(value) + 4 : 8;
    return { values, bytes };
  }

  add(encoded: EncodedRow): void {
    this.columns.push((encoded as EncodedRow & { values: unknown[] }).values);
    this.pendingBytes += encoded.bytes;
    if (this.columns.rows >= ROW_GROUP_ROWS || this.pendingBytes >= ROW_GROUP_BYTES) this.writeRowGroup();
  }

  take(): Uint8Array | undefined {
    if (this.out.ready.length === 0) return undefined;
    return Buffer.concat(this.out.ready.splice(0));
  }

  finish(): Uint8Array {
    this.writeRowGroup();
    // Synchronous: FlushingWriter.flush returns no promise, so neither does the writer.
    void this.writer.finish();
    this.out.flush();
    return Buffer.concat(this.out.ready.splice(0));
  }

  private writeRowGroup(): void {
    const rows = this.columns.rows;
    if (rows === 0) return;
    const leaves = this.schema.slice(1);
    const columns = this.columns.columns();
    void this.writer.write({
      columnData: leaves.map((leaf, i) => ({ name: leaf.name, data: columns[i] as never })),
      rowGroupSize: rows,
    });
    this.columns.clear();
    this.pendingBytes = 0;
  }
}
