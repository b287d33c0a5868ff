import fc from 'fast-check';
import { PendingColumns, type PendingColumnKind } from '../../lambdas/core/export/parquet-pending-columns';

const KINDS: PendingColumnKind[] = ['text', 'number', 'boolean', 'text'];

/** Values of each kind, nulls, texts of any code units (lone surrogates too), and values of another kind. */
const valueOf = (kind: PendingColumnKind): fc.Arbitrary<unknown> =>
  fc.oneof(
    {
      arbitrary:
        kind === 'text'
          ? fc.string({ unit: 'grapheme', maxLength: 20 })
          : kind === 'number'
            ? fc.double()
            : fc.boolean(),
      weight: 6,
    },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 6 }), weight: 1 },
    { arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(-0), fc.constant(Number.NaN)), weight: 1 },
  );
const row = fc.tuple(...KINDS.map(valueOf));

describe('PendingColumns', () => {
  it('gives back the values pushed, column by column, across growth and clears', () => {
    fc.assert(
      fc.property(fc.array(fc.array(row, { maxLength: 3000 }), { minLength: 1, maxLength: 3 }), (groups) => {
        const pending = new PendingColumns(KINDS);
        for (const rows of groups) {
          for (const values of rows) pending.push(values);
          expect(pending.rows).toBe(rows.length);
          const plain = KINDS.map((_, column) => rows.map((values) => values[column]));
          expect(pending.columns()).toEqual(plain);
          pending.clear();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gives back a text longer than its whole buffer, after other texts', () => {
    const pending = new PendingColumns(['text']);
    const long = 'é🎉x'.repeat(30_000);
    pending.push(['short']);
    pending.push([long]);
    pending.push(['after']);
    expect(pending.columns()).toEqual([['short', long, 'after']]);
  });

  it('gives back texts with unpaired surrogates as they are, and paired ones too', () => {
    const texts = [
      'a\ud800',
      '\udbffb',
      '\udc00c',
      'd\udfff',
      '\udc00\ud800',
      '\ud800\udc00',
      '\udbff\udfff',
      '\ud800\udfff',
      '\udbff\udc00',
      'plain',
    ];
    const pending = new PendingColumns(['text']);
    for (const text of texts) pending.push([text]);
    expect(pending.columns()).toEqual([texts]);
  });

  it('gives back every row beyond its initial room, of every kind, across a clear', () => {
    const pending = new PendingColumns(KINDS);
    for (const count of [5000, 3000]) {
      const rows = Array.from({ length: count }, (_, i) => [
        i % 7 === 0 ? null : `text ${i}`,
        i % 5 === 0 ? null : i / 4,
        i % 3 === 0 ? null : i % 2 === 0,
        i % 11 === 0 ? i : `é${i}`,
      ]);
      for (const values of rows) pending.push(values);
      expect(pending.rows).toBe(count);
      expect(pending.columns()).toStrictEqual(KINDS.map((_, column) => rows.map((values) => values[column])));
      pending.clear();
    }
  });

  it('gives back a missing value as null', () => {
    const pending = new PendingColumns(['text', 'number', 'boolean']);
    pending.push([undefined, undefined, undefined]);
    pending.push(['a', 1, false]);
    expect(pending.columns()).toStrictEqual([
      [null, 'a'],
      [null, 1],
      [null, false],
    ]);
  });
});
