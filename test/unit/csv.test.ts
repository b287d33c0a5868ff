/** The CSV encoder writes exactly what csv-stringify writes for the whole rows, cache or no cache. */
import { stringify } from 'csv-stringify/sync';
import { CsvRowEncoder } from '../../lambdas/core/export/csv';
import type { Cell } from '../../lambdas/core/export/pipeline';

const WHOLE_ROWS = { record_delimiter: 'unix', quote_record_delimiter: true, escape_formulas: true } as const;

const EDGE_CELLS: Cell[] = [
  null,
  '',
  ' ',
  'plain',
  'a,b',
  'q"uote',
  '"',
  '""',
  'line\nbreak',
  'cr\rinside',
  '\r\n',
  'trailing\n',
  '=1+1',
  '+1',
  '-1',
  '-x',
  '@sum',
  '\tTab',
  '\rStart',
  '＝fullwidth',
  "'quoted",
  'Zürich & Co',
  '日本',
  '😀',
  0,
  -0,
  1,
  -1,
  2.5,
  -2.5,
  1e21,
  Number.NaN,
  Number.MAX_SAFE_INTEGER,
  '2026-11-23T12:00:00.000Z',
  'nul\u0000inside',
  '\u0000',
  '=\u0000,"',
];

/** A deterministic pseudo-random cell: repeats often (as in exports), with every edge case in the mix. */
function cellAt(seed: number): Cell {
  const n = (seed * 2654435761) >>> 0;
  if (n % 5 === 0) return `company-${n % 97}${n % 7 === 0 ? ',' : ''}`;
  return EDGE_CELLS[n % EDGE_CELLS.length];
}

describe('CsvRowEncoder', () => {
  it('writes the header as csv-stringify does', () => {
    const columns = ['Company ID', 'a,b', '=formula'];
    expect(CsvRowEncoder.header(columns)).toBe(stringify([], { ...WHOLE_ROWS, header: true, columns }));
    expect(CsvRowEncoder.header(columns)).toBe('Company ID,"a,b",\'=formula\n');
  });

  it('encodes every edge case byte for byte as csv-stringify encodes the whole rows', () => {
    const rows = EDGE_CELLS.map((cell, i) => [cell, EDGE_CELLS[(i * 7) % EDGE_CELLS.length], i]);
    expect(new CsvRowEncoder(3).encode(rows)).toBe(stringify(rows, WHOLE_ROWS));
  });

  it('stays identical across many batches, including after its cache is cleared', () => {
    const encoder = new CsvRowEncoder(6, { maxCachedCells: 1000 });
    for (let batch = 0; batch < 40; batch++) {
      const rows = Array.from({ length: 500 }, (_, r) =>
        // Unique values that need quoting too, so the cache fills up and is cleared many times.
        [cellAt(batch * 500 + r), `unique, ${batch}-${r}`, cellAt(r), r * batch, cellAt(batch), null],
      );
      expect(encoder.encode(rows)).toBe(stringify(rows, WHOLE_ROWS));
    }
  });

  it('stays identical when long texts fill its cache by size', () => {
    const encoder = new CsvRowEncoder(2, { maxCachedChars: 10_000 });
    for (let batch = 0; batch < 20; batch++) {
      const rows = Array.from({ length: 50 }, (_, r) => [`${'long, "text" '.repeat(50)}${batch}-${r}`, cellAt(r)]);
      expect(encoder.encode(rows)).toBe(stringify(rows, WHOLE_ROWS));
    }
  });

  it('writes every text as csv-stringify does, whatever its first and other characters', () => {
    // Printable ASCII, control characters, line breaks and non-ASCII letters: texts the encoder copies
    // as they are and texts it passes to csv-stringify, side by side.
    const alphabet = [
      ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
      '\n',
      '\r',
      '\t',
      '\u0000',
      '\u001f',
      '\u007f',
      'é',
      '＝',
      '😀',
    ];
    let state = 7;
    const next = (bound: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % bound;
    };
    const randomText = (first: string) => {
      let text = first;
      for (let length = next(16); length > 0; length--) text += alphabet[next(alphabet.length)];
      return text;
    };
    const rows = alphabet.flatMap((first) =>
      Array.from({ length: 40 }, () => [randomText(first), randomText('2026-')]),
    );
    expect(new CsvRowEncoder(2).encode(rows)).toBe(stringify(rows, WHOLE_ROWS));
  });

  it('stays identical with rows of many columns, short and long rows among them', () => {
    const encoder = new CsvRowEncoder(9, { maxCachedCells: 500 });
    // Runs of repeated cells, as in an export: each column changes every `period` rows.
    const periods = [50, 50, 50, 50, 1, 3, 1, 9, 100];
    const rowAt = (batch: number, r: number) =>
      periods.map((period, column) => cellAt(batch * 1000 + Math.floor(r / period) * 13 + column));
    for (let batch = 0; batch < 10; batch++) {
      const rows = Array.from({ length: 300 }, (_, r) => {
        // A short row that starts the next run early: the row after it repeats its cells.
        if (r % 50 === 49) return rowAt(batch, r + 1).slice(0, 4);
        if (r % 50 === 21) return [...rowAt(batch, r), 'beyond', 1];
        return rowAt(batch, r);
      });
      expect(encoder.encode(rows)).toBe(
        stringify(
          rows.map((row) => row.slice(0, 9)),
          WHOLE_ROWS,
        ),
      );
    }
  });

  it('writes the same bytes whatever the column groups, when groups repeat their first cell with other cells', () => {
    // Few distinct first cells per group, so remembered texts are found by a first cell whose other
    // cells differ, as well as by one whose cells are all the same.
    const rowAt = (r: number) =>
      Array.from({ length: 9 }, (_, column) => (column % 3 === 0 ? `k${(r >> 2) % 3}` : cellAt(r * 7 + column)));
    const rows = Array.from({ length: 600 }, (_, r) => (r % 97 === 50 ? rowAt(r).slice(0, 5) : rowAt(r)));
    const expected = stringify(rows, WHOLE_ROWS);
    for (const columnGroups of [[9], [1, 1, 1, 1, 1, 1, 1, 1, 1], [3, 3, 3], [2, 5, 2], [4, 4, 1]]) {
      const encoder = new CsvRowEncoder(9, { columnGroups });
      expect(encoder.encode(rows.slice(0, 300)) + encoder.encode(rows.slice(300))).toBe(expected);
    }
  });

  it('refuses column groups that do not add up to the columns', () => {
    expect(() => new CsvRowEncoder(3, { columnGroups: [1, 1] })).toThrow(
      new RangeError('Column groups [1,1] do not add up to the 3 columns.'),
    );
    expect(() => new CsvRowEncoder(3, { columnGroups: [2, 0, 1] })).toThrow(RangeError);
    expect(() => new CsvRowEncoder(3, { columnGroups: [1.5, 1.5] })).toThrow(RangeError);
  });

  it('groups columns by fours by default, whatever the column count', () => {
    for (const columnCount of [1, 4, 5, 8]) {
      const rows = Array.from({ length: 30 }, (_, r) =>
        Array.from({ length: columnCount }, (_, column) => cellAt((r >> 1) * 11 + column)),
      );
      expect(new CsvRowEncoder(columnCount).encode(rows)).toBe(stringify(rows, WHOLE_ROWS));
    }
  });

  it('leaves out cells beyond the columns, like csv-stringify with columns', () => {
    expect(new CsvRowEncoder(2).encode([['a', 'b', 'c'], ['d']])).toBe('a,b\nd\n');
  });
});
