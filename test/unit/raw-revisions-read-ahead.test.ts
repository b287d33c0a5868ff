/**
 * Reading the next revision ahead (lambdas/core/export/read-ahead-body.ts) changes no revision: over
 * random logs, budgets and failed reads, the revisions written are the plain reading of the objects
 * (each object's records as revision lines, in order), numbered 1, 2, ... once each, across runs.
 */
import fc from 'fast-check';
import { revisionLine } from '../../lambdas/core/export/revision-lines';
import type { RawRecord } from '../../lambdas/core/raw-log';
import { rawRevisionsFixture, FakeRawLogObjects } from '../support/raw-export-fakes';

const HOUR = 3_600_000;
const DAY1 = Date.parse('2026-12-01T00:00:00Z');
const RUN_AT = DAY1 + 36 * HOUR;

/** A log whose reads of one object fail until `failingReads` is spent. */
class FlakyRawLogObjects extends FakeRawLogObjects {
  failingKey: string | undefined;
  failingReads = 0;

  override async *readObjectBatches(key: string): AsyncIterable<RawRecord[]> {
    let batches = 0;
    for await (const batch of super.readObjectBatches(key)) {
      if (key === this.failingKey && this.failingReads > 0 && batches++ > 0) {
        this.failingReads--;
        throw new Error(`read of ${key} failed`);
      }
      yield batch;
    }
  }
}

const attributes = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 4 }),
  fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.boolean()),
  { maxKeys: 3 },
);

test('revisions read ahead are the plain reading of the objects, numbered once each across runs', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(attributes, { maxLength: 5 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.constantFrom(0, 60_000), { minLength: 1, maxLength: 4 }),
      fc.option(fc.record({ object: fc.nat(), reads: fc.integer({ min: 1, max: 2 }) })),
      async (objectRecords, budgets, failure) => {
        const objects = new FlakyRawLogObjects();
        const { service, gateway } = await rawRevisionsFixture({ now: DAY1, objects });
        await service.putSettings({ organizationId: 'org_1', role: 'member' }, 'env1', {
          enabled: true,
          destinationId: 'dst_1',
          notifyEmails: ['a@acme.example'],
        });
        const keys = objectRecords.map((records, i) => {
          const at = DAY1 + (i + 1) * HOUR;
          const key = `raw/env1/2026/12/01/${String(i + 1).padStart(2, '0')}/local-raw-events-1-${i}.jsonl.gz`;
          objects.add(
            key,
            records.map((attrs, j) => ({
              id: `${key}#${j}`,
              environmentId: 'env1',
              receivedAt: at + j,
              type: 'event',
              userId: `u${j}`,
              event: 'e',
              timestamp: at + j,
              attributes: attrs,
            })),
          );
          return key;
        });
        if (failure) {
          objects.failingKey = keys[failure.object % keys.length];
          objects.failingReads = failure.reads;
        }
        const plain = keys.map((key) =>
          objects.objects
            .get(key)!
            .map((record) => `${revisionLine(record)}\n`)
            .join(''),
        );

        const written: number[] = [];
        for (let run = 0; run < 20; run++) {
          const result = await service.run({
            environmentId: 'env1',
            scheduledTime: RUN_AT,
            runAt: RUN_AT,
            budgetMs: budgets[run % budgets.length],
          });
          if (result.outcome === 'skipped') throw new Error(result.reason);
          written.push(...result.written);
          if (result.outcome === 'successful' && result.complete) break;
        }
        expect(written).toEqual(keys.map((_key, i) => i + 1));
        const bodies = gateway.objects.filter((o) => o.key.startsWith('km/revisions/'));
        expect(bodies.map((o) => o.key)).toEqual(written.map((n) => `km/revisions/${n}.json`));
        expect(bodies.map((o) => o.body)).toEqual(plain);
      },
    ),
    { numRuns: 60 },
  );
});
