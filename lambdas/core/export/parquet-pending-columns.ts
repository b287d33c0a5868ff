/**
 * Performance (memory): the values of a Parquet row group in waiting, kept outside V8's heap until the
 * row group is written: texts as UTF-8 bytes in one buffer per column, numbers in a Float64Array,
 * booleans in bytes. Reason: a run keeps a row group in waiting per open file (one per event name and
 * day), and as JS values every one of them outlived the young generation, so the old generation filled
 * with them until each major collection (live heap 17-40 MB, heap before collection up to 155 MB at
 * 1 M events, and growing with the run: peak RSS 283 MB at 1 M events, 350 MB at 4 M). The buffers
 * grow to a row group's size once and are reused. Measured gain (bench, 1 M events): V8 heap at most
 * 54 MB, peak RSS 187-195 MB (232 MB at 4 M), the same files. `columns()` gives back the values
 * pushed, as plain arrays: test/unit/parquet-pending-columns.test.ts.
 */

/** What a column holds: text, numbers or booleans (and nulls); any other value is kept as it is. */
export type PendingColumnKind = 'text' | 'number' | 'boolean';

const NULL = -1;
/** Marks a row whose value is kept aside as a JS value (a text that is not well-formed UTF-16, or a value of another type). */
const ASIDE = -2;

interface Column {
  kind: PendingColumnKind;
  /** text: UTF-8 bytes of the values; number: unused. */
  bytes: Buffer;
  used: number;
  /** text: per row, the end of its bytes, or NULL / ASIDE. */
  ends: Int32Array;
  /** number: per row, its value; boolean: 1 / 0. */
  numbers: Float64Array;
  /** number and boolean: per row, 1 when null, 2 when kept aside. */
  flags: Uint8Array;
  aside: Map<number, unknown>;
}

const INITIAL_ROWS = 1024;
/** A surrogate without its pair: UTF-8 cannot hold it as it is. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export class PendingColumns {
  private readonly pending: Column[];
  private count = 0;
  private capacity = INITIAL_ROWS;

  constructor(kinds: readonly PendingColumnKind[]) {
    this.pending = kinds.map((kind) => ({
      kind,
      bytes: Buffer.allocUnsafe(kind === 'text' ? 64 * 1024 : 0),
      used: 0,
      ends: new Int32Array(kind === 'text' ? INITIAL_ROWS : 0),
      numbers: new Float64Array(kind === 'text' ? 0 : INITIAL_ROWS),
      flags: new Uint8Array(kind === 'text' ? 0 : INITIAL_ROWS),
      aside: new Map(),
    }));
  }

  get rows(): number {
    return this.count;
  }

  /** Appends a row: one value per column. */
  push(row: readonly unknown[]): void {
    if (this.count === this.capacity) this.grow();
    const at = this.count++;
    for (let i = 0; i < this.pending.length; i++) {
      const column = this.pending[i];
      const value = row[i];
      if (column.kind === 'text') pushText(column, at, value);
      else if (value === null || value === undefined) column.flags[at] = 1;
      else if (typeof value === (column.kind === 'number' ? 'number' : 'boolean')) {
        column.numbers[at] = Number(value);
        column.flags[at] = 0;
      } else {
        column.flags[at] = 2;
        column.aside.set(at, value);
      }
    }
  }

  /** The columns' values as plain arrays, in row order. */
  columns(): unknown[][] {
    return this.pending.map((column) => {
      const values = new Array<unknown>(this.count);
      if (column.kind === 'text') {
        let start = 0;
        for (let row = 0; row < this.count; row++) {
          const end = column.ends[row];
          if (end === NULL) values[row] = null;
          else if (end === ASIDE) values[row] = column.aside.get(row);
          else {
            values[row] = column.bytes.toString('utf8', start, end);
            start = end;
          }
        }
      } else {
        const isNumber = column.kind === 'number';
        for (let row = 0; row < this.count; row++) {
          const flag = column.flags[row];
          values[row] =
            flag === 1
              ? null
              : flag === 2
                ? column.aside.get(row)
                : isNumber
                  ? column.numbers[row]
                  : column.numbers[row] === 1;
        }
      }
      return values;
    });
  }

  clear(): void {
    this.count = 0;
    for (const column of this.pending) {
      column.used = 0;
      column.aside.clear();
    }
  }

  private grow(): void {
    this.capacity *= 2;
    for (const column of this.pending) {
      if (column.kind === 'text') column.ends = grown(column.ends, new Int32Array(this.capacity));
      else {
        column.numbers = grown(column.numbers, new Float64Array(this.capacity));
        column.flags = grown(column.flags, new Uint8Array(this.capacity));
      }
    }
  }
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function pushText(column: Column, at: number, value: unknown): void {
  if (value === null || value === undefined) {
    column.ends[at] = NULL;
    return;
  }
  if (typeof value !== 'string' || LONE_SURROGATE.test(value)) {
    column.ends[at] = ASIDE;
    column.aside.set(at, value);
    return;
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const room = value.length * 3;
  if (column.used + room > column.bytes.length) {
    const bytes = Buffer.allocUnsafe(Math.max(column.bytes.length * 2, column.used + room));
    column.bytes.copy(bytes, 0, 0, column.used);
    column.bytes = bytes;
  }
  column.used += column.bytes.write(value, column.used, 'utf8');
  column.ends[at] = column.used;
}
