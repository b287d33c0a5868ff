/**
 * CSV encoding for warehouses and spreadsheets alike, by csv-stringify: RFC 4180 quoting, UTF-8, empty
 * cells for null, and text that a spreadsheet would run as a formula neutralized (`escape_formulas`).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { stringify, type Options } from 'csv-stringify/sync';
import type { Cell, Encoder } from './pipeline';
import { storeAsOnePiece } from '../fast-paths/one-piece-text';

const CSV_OPTIONS: Options = {
  record_delimiter: 'unix',
  // A lone carriage return inside a cell must be quoted too, or RFC 4180 readers split the row.
  quote_record_delimiter: true,
  escape_formulas: true,
};
/** Bounds the encoded-cell cache whatever the export's size and whatever the length of its texts. */
const MAX_CACHED_CELLS = 65_536;
const MAX_CACHED_CHARS = 4_000_000;
/**
 * Text that csv-stringify writes unchanged with CSV_OPTIONS: no delimiter, quote or control character
 * (line breaks included), and an ASCII letter or digit first (so never like a formula). Timestamps,
 * ids and most names are such text, and most of an export's new values are timestamps: they skip
 * csv-stringify and the cache. test/unit/csv.test.ts checks that csv-stringify leaves them unchanged.
 */
const VERBATIM_TEXT = /^[0-9A-Za-z][^\x00-\x1f",]*$/;

/** Columns per group when the caller gives no groups. */
const DEFAULT_GROUP_SIZE = 4;
/** Texts remembered per group of columns; bounds the memory whatever the export's values. */
const MAX_REMEMBERED_TEXTS = 256;
/** A group's text about to be used again: stored as one piece the first time. */
function repeating(entry: GroupText): GroupText {
  if (!entry.repeated) {
    entry.repeated = true;
    storeAsOnePiece(entry.text);
  }
  return entry;
}

/** A group of columns' cells, their encodings and the text they join into. */
interface GroupText {
  cells: readonly Cell[];
  encoded: readonly string[];
  /** The encodings joined by commas, after a comma except for the first group; the last group ends the row. */
  text: string;
  /** Whether a row has repeated it yet: it is stored as one piece then. */
  repeated: boolean;
}

/**
 * Encodes rows with csv-stringify, one distinct cell value at a time. csv-stringify encodes each cell
 * from its value alone, and an export repeats the same values over and over (the company and feature on
 * each of their rows, dates, labels, small numbers), so each value is encoded once and its encoding is
 * reused; text that csv-stringify leaves unchanged is copied as it is.
 *
 * A row is joined from groups of consecutive columns, best chosen so that their cells change together
 * (`columnGroups`, the sizes of the groups). Each group's text is kept, and a few recent texts per group
 * are remembered by their first cell: a row whose group has the same cells as the previous row or as a
 * remembered text reuses that text. Rows thus take a few string joins, instead of two per cell.
 *
 * These caches are a speed technique only: the same bytes as stringifying every row (test/unit/csv.test.ts,
 * test/unit/fast-paths.test.ts), in under a fifth of the time. Measured (docs/benchmarks.md): copying
 * verbatim text took the export at 5,000 companies from 6.3 s to 4.2 s; the column groups with their
 * remembered, one-piece texts (fast-paths/one-piece-text.ts) made encoding 12% faster.
 */
export class CsvRowEncoder {
  private readonly encodedCells = new Map<Cell, string>();
  private cachedChars = 0;
  /** Where each group of columns starts, then the column count. */
  private readonly bounds: number[];
  /** Per group, the text of the last row that had all the columns (none before the first). */
  private readonly current: (GroupText | undefined)[];
  /** Per group, recent texts by the value of their first cell. */
  private readonly remembered: Map<Cell, GroupText>[];
  private readonly maxCachedCells: number;
  private readonly maxCachedChars: number;

  constructor(
    private readonly columnCount: number,
    options: { columnGroups?: readonly number[]; maxCachedCells?: number; maxCachedChars?: number } = {},
  ) {
    const sizes = options.columnGroups ?? defaultGroups(columnCount);
    if (sizes.some((size) => !Number.isInteger(size) || size < 1) || sizes.reduce((a, b) => a + b, 0) !== columnCount) {
      throw new RangeError(`Column groups ${JSON.stringify(sizes)} do not add up to the ${columnCount} columns.`);
    }
    this.maxCachedCells = options.maxCachedCells ?? MAX_CACHED_CELLS;
    this.maxCachedChars = options.maxCachedChars ?? MAX_CACHED_CHARS;
    this.bounds = [0];
    for (const size of sizes) this.bounds.push(this.bounds[this.bounds.length - 1] + size);
    this.current = sizes.map(() => undefined);
    this.remembered = sizes.map(() => new Map<Cell, GroupText>());
  }

  static header(columns: readonly string[]): string {
    return stringify([], { ...CSV_OPTIONS, header: true, columns: [...columns] });
  }

  encode(rows: readonly (readonly Cell[])[]): string {
    const { bounds, current, columnCount } = this;
    const groupCount = current.length;
    let text = '';
    for (const row of rows) {
      if (row.length < columnCount) {
        // Like csv-stringify with `columns`, a row with fewer cells has fewer in its record.
        text += this.encodeCells(row);
        continue;
      }
      // Like csv-stringify with `columns`: cells beyond the columns are left out.
      for (let group = 0; group < groupCount; group++) {
        const start = bounds[group];
        const end = bounds[group + 1];
        const previous = current[group];
        const entry =
          previous !== undefined && sameCells(previous.cells, row, start, end)
            ? repeating(previous)
            : (current[group] = this.groupText(group, row, start, end, previous));
        text += entry.text;
      }
    }
    return text;
  }

  /** The text of a group's cells: a remembered one, or joined from the cells' encodings. */
  private groupText(
    group: number,
    row: readonly Cell[],
    start: number,
    end: number,
    previous: GroupText | undefined,
  ): GroupText {
    const remembered = this.remembered[group];
    const known = remembered.get(row[start]);
    if (known !== undefined && sameCells(known.cells, row, start, end)) return repeating(known);
    const size = end - start;
    const cells = new Array<Cell>(size);
    const encoded = new Array<string>(size);
    let text = start === 0 ? '' : ',';
    for (let i = 0; i < size; i++) {
      const cell = row[start + i];
      cells[i] = cell;
      encoded[i] = previous !== undefined && previous.cells[i] === cell ? previous.encoded[i] : this.encodeCell(cell);
      text = i === 0 ? text + encoded[i] : text + ',' + encoded[i];
    }
    if (end === this.columnCount) text += '\n';
    const entry: GroupText = { cells, encoded, text, repeated: false };
    if (remembered.size >= MAX_REMEMBERED_TEXTS) remembered.clear();
    remembered.set(row[start], entry);
    return entry;
  }

  /**
   * One record of all the row's cells, each cell encoded on its own (cached or verbatim), without the
   * groups' bookkeeping: for rows that seldom repeat the previous row's cells, such as export-job events.
   */
  encodeCells(row: readonly Cell[]): string {
    let line = '';
    for (let i = 0; i < row.length; i++) {
      if (i > 0) line += ',';
      line += this.encodeCell(row[i]);
    }
    return line + '\n';
  }

  private encodeCell(value: Cell): string {
    if (typeof value === 'string' && VERBATIM_TEXT.test(value)) return value;
    let encoded = this.encodedCells.get(value);
    if (encoded === undefined) {
      // One record of one cell, without its record delimiter.
      encoded = stringify([[value]], CSV_OPTIONS).slice(0, -1);
      const chars = (typeof value === 'string' ? value.length : 0) + encoded.length;
      if (this.encodedCells.size >= this.maxCachedCells || this.cachedChars + chars > this.maxCachedChars) {
        this.encodedCells.clear();
        this.cachedChars = 0;
      }
      this.encodedCells.set(value, encoded);
      this.cachedChars += chars;
    }
    return encoded;
  }
}

/** Whether row[start..end) holds the given cells (the same values, or the same string objects). */
function sameCells(cells: readonly Cell[], row: readonly Cell[], start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (row[i] !== cells[i - start]) return false;
  return true;
}

function defaultGroups(columnCount: number): number[] {
  const sizes = new Array<number>(Math.floor(columnCount / DEFAULT_GROUP_SIZE)).fill(DEFAULT_GROUP_SIZE);
  if (columnCount % DEFAULT_GROUP_SIZE > 0) sizes.push(columnCount % DEFAULT_GROUP_SIZE);
  return sizes;
}

/** Row batches in, CSV text out: the header, then one chunk per batch. */
class CsvStream extends Transform {
  private readonly rows: CsvRowEncoder;
  private header: string | undefined;

  constructor(columns: readonly string[], columnGroups: readonly number[] | undefined) {
    super({ writableObjectMode: true });
    this.rows = new CsvRowEncoder(columns.length, { columnGroups });
    this.header = CsvRowEncoder.header(columns);
  }

  override _transform(
    batch: readonly (readonly Cell[])[],
    _encoding: BufferEncoding,
    callback: TransformCallback,
  ): void {
    this.pushHeader();
    if (batch.length > 0) this.push(this.rows.encode(batch), 'utf8');
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // An export without rows is still a file with its header.
    this.pushHeader();
    callback();
  }

  private pushHeader(): void {
    if (this.header === undefined) return;
    this.push(this.header, 'utf8');
    this.header = undefined;
  }
}

/**
 * CSV of rows with the given columns. `columnGroups`: the sizes of groups of consecutive columns whose
 * cells tend to change together from one row to the next (see CsvRowEncoder); the bytes are the same
 * whatever the groups.
 */
export function csvEncoder(columns: readonly string[], columnGroups?: readonly number[]): Encoder {
  return {
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    createStream: () => new CsvStream(columns, columnGroups),
  };
}
