/**
 * The export-job CSV's fast path (day-cached ISO times, each cell encoded on its own by the cell cache,
 * rows filled into one reused array) writes what csv-stringify writes for the plain rows.
 */
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { CsvRowEncoder } from '../../lambdas/core/export/csv';
import type { ExportedEvent } from '../../lambdas/core/export/job-files';
import { eventFormat, PropertyColumnsCollector } from '../../lambdas/core/export/job-formats';
import type { Cell } from '../../lambdas/core/export/pipeline';
import type { JsonValue } from '../../lambdas/core/raw-log';

const CSV_OPTIONS = { record_delimiter: 'unix', quote_record_delimiter: true, escape_formulas: true } as const;
const KEYS = ['plan', 'n', '=x', 'a,b', 'nested'];

const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom(
    '',
    '=1+1',
    '-x',
    '+1',
    '@a',
    '\tTab',
    'q"uote',
    'a,b',
    'line\nbreak',
    'cr\r',
    'plain',
    '2026-11-22T10:30:00.000Z',
  ),
);
const value: fc.Arbitrary<JsonValue> = fc.oneof(
  text,
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 0, 1e21, -1e-7),
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  fc.array(fc.oneof(fc.integer(), text), { maxLength: 2 }),
);
const event: fc.Arbitrary<ExportedEvent> = fc.record({
  name: fc.constant('e'),
  timestamp: fc.oneof(
    fc.integer({ min: Date.UTC(2026, 10, 21), max: Date.UTC(2026, 10, 23) }),
    fc.integer({ min: -8.64e15, max: 8.64e15 }),
  ),
  profile: fc.record({ identity: text, email: text, phone: text }, { requiredKeys: [] }),
  properties: fc.dictionary(fc.constantFrom(...KEYS), value),
});

/** The plain row: every value as csv-stringify takes it (numbers as numbers, other values as text). */
function plainRow(row: ExportedEvent, keys: readonly string[], asString: boolean): Cell[] {
  const plain = (property: JsonValue | undefined): Cell => {
    if (property === undefined || property === null) return asString ? '' : null;
    if (typeof property === 'string') return property;
    if (typeof property === 'number') return asString ? String(property) : property;
    return typeof property === 'boolean' ? String(property) : JSON.stringify(property);
  };
  return [
    new Date(row.timestamp).toISOString(),
    row.name,
    row.profile.identity ?? null,
    row.profile.email ?? null,
    row.profile.phone ?? null,
    ...keys.map((key) => plain(row.properties[key])),
  ];
}

describe('export-job CSV rows', () => {
  it('are what csv-stringify writes for the plain rows, as text or not', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), fc.boolean(), (events, asString) => {
        const collector = new PropertyColumnsCollector(asString);
        for (const row of events) collector.see(row.properties);
        const columns = collector.columns();
        const file = eventFormat('csv', { eventName: 'e', asString, columns }).open();
        let written = '';
        for (const row of events) {
          file.add(file.encode(row));
          written += String(file.take() ?? '');
        }
        written += String(file.finish());
        const header = CsvRowEncoder.header(['ts', 'eventName', 'identity', 'email', 'phone', ...columns.keys]);
        const plainRows = events.map((row) => plainRow(row, columns.keys, asString));
        expect(written).toBe(header + (plainRows.length > 0 ? stringify(plainRows, CSV_OPTIONS) : ''));
      }),
      { numRuns: 300 },
    );
  });
});
