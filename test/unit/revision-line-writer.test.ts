/**
 * Revision lines written with the previous shape's names kept (lambdas/core/export/revision-line-writer.ts)
 * are the plain `revisionLine` of each record, whatever the sequence of shapes.
 */
import fc from 'fast-check';
import { RevisionLineWriter } from '../../lambdas/core/export/revision-line-writer';
import { revisionLine } from '../../lambdas/core/export/revision-lines';
import { RAW_RECORD_TYPES, type JsonValue, type RawRecord } from '../../lambdas/core/raw-log';

/** Names from a small pool, so that shapes repeat, reserved ones and integer-like ones included. */
const name = fc.constantFrom('plan', 'rows', 'b', 'a', '1', '10', '_p', '_t', '_n', '_p2', 'é', '__proto__');
const attributes = fc.option(
  fc.dictionary(name, fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<JsonValue>, { maxKeys: 5 }),
  { nil: undefined },
);

const record: fc.Arbitrary<RawRecord> = fc
  .record({
    type: fc.constantFrom(...RAW_RECORD_TYPES),
    userId: fc.option(fc.string(), { nil: undefined }),
    companyId: fc.option(fc.string(), { nil: undefined }),
    event: fc.option(fc.string(), { nil: undefined }),
    alias: fc.option(fc.string(), { nil: undefined }),
    timestamp: fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }),
    attributes,
  })
  .map((fields) => ({ id: 'r', environmentId: 'env1', receivedAt: 1_800_000_000_000, ...fields }));

test('each line is the plain revisionLine of its record', () => {
  fc.assert(
    fc.property(fc.array(record, { maxLength: 12 }), (records) => {
      const writer = new RevisionLineWriter();
      expect(records.map((r) => writer.line(r))).toEqual(records.map(revisionLine));
    }),
    { numRuns: 300 },
  );
});
