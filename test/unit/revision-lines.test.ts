/** The raw revisions' line mapping for every record type, the UTC formatting and the guide files. */
import { parse } from 'csv-parse/sync';
import { indexCsv, revisionLine, statusCsv, utcTimestamp } from '../../lambdas/core/export/revision-lines';
import type { RawRecord } from '../../lambdas/core/raw-log';

const base = { id: 'i1', environmentId: 'env', receivedAt: 1_234_567_899_000 };
/** The line as written: its JSON text, so the field order is checked too. */
const line = revisionLine;

describe('revision lines (the seed examples, with _p, _p2, _t, _n first)', () => {
  test('an event without properties', () => {
    expect(line({ ...base, type: 'event', userId: 'john', event: 'Visited Site', timestamp: 1_234_567_890_123 })).toBe(
      '{"_p":"john","_t":1234567890,"_n":"Visited Site"}',
    );
  });

  test('an event with properties: by name, nested values kept, the context left out', () => {
    const record: RawRecord = {
      ...base,
      type: 'event',
      userId: 'john',
      companyId: 'acme',
      event: 'Visited Site',
      timestamp: 1_234_567_890_000,
      attributes: { url: 'http://mysite.com', 'campaign name': 'my campaign', page: { id: 7 } },
      context: { active: true },
    };
    expect(line(record)).toBe(
      '{"_p":"john","_t":1234567890,"_n":"Visited Site","campaign name":"my campaign","page":{"id":7},"url":"http://mysite.com"}',
    );
  });

  test('properties without an event: a user item, and a company item as company:<id>', () => {
    expect(
      line({
        ...base,
        type: 'user',
        userId: 'john',
        timestamp: 1_234_567_890_000,
        attributes: { url: 'http://mysite.com' },
      }),
    ).toBe('{"_p":"john","_t":1234567890,"url":"http://mysite.com"}');
    expect(
      line({
        ...base,
        type: 'company',
        companyId: 'acme',
        timestamp: 1_234_567_890_000,
        attributes: { name: 'Acme', seats: 40 },
      }),
    ).toBe('{"_p":"company:acme","_t":1234567890,"name":"Acme","seats":40}');
  });

  test('an alias line carries _p2', () => {
    expect(
      line({ ...base, type: 'alias', userId: 'john', alias: 'john@kissmetrics.com', timestamp: 1_234_567_890_000 }),
    ).toBe('{"_p":"john","_p2":"john@kissmetrics.com","_t":1234567890}');
  });

  test('feedback: the feature key as _n, its fields as properties', () => {
    expect(
      line({
        ...base,
        type: 'feedback',
        userId: 'john',
        companyId: 'acme',
        event: 'export',
        timestamp: 1_234_567_890_000,
        attributes: { score: 4, comment: 'ok' },
      }),
    ).toBe('{"_p":"john","_t":1234567890,"_n":"export","comment":"ok","score":4}');
  });

  test('properties named like numbers come after the fields, in name order too', () => {
    expect(
      line({
        ...base,
        type: 'event',
        userId: 'john',
        event: 'x',
        timestamp: 1_234_567_890_000,
        attributes: { b: 1, '10': 2, '9': 3 },
      }),
    ).toBe('{"_p":"john","_t":1234567890,"_n":"x","10":2,"9":3,"b":1}');
  });

  test('without a timestamp _t is the receive time; properties named like the reserved fields give way', () => {
    expect(
      line({ ...base, type: 'event', userId: 'john', event: 'x', attributes: { _t: 1, _p: 'someone else', a: 1 } }),
    ).toBe('{"_p":"john","_t":1234567899,"_n":"x","a":1}');
  });
});

test('UTC timestamps are YYYY-MM-DD HH:MM:SS', () => {
  expect(utcTimestamp(0)).toBe('1970-01-01 00:00:00');
  expect(utcTimestamp(1_234_567_890)).toBe('2009-02-13 23:31:30');
  expect(utcTimestamp(Date.parse('2026-12-06T23:59:59Z') / 1000)).toBe('2026-12-06 23:59:59');
});

test('status.csv: its header and one row; empty timestamps before anything was exported', () => {
  expect(parse(statusCsv({ totalRevisions: 5, exportedRevisions: 3, maxExportedTimestamp: 1_234_567_890 }))).toEqual([
    ['Total Revisions', 'Exported Revisions', 'Max Exported Revision Timestamp', 'Max Exported Revision UTC Timestamp'],
    ['5', '3', '1234567890', '2009-02-13 23:31:30'],
  ]);
  expect(parse(statusCsv({ totalRevisions: 2, exportedRevisions: 0 }))[1]).toEqual(['2', '0', '', '']);
});

test('index.csv: one row per revision, streamed', async () => {
  async function* revisions() {
    yield { n: 1, minTimestamp: 1_234_567_890, maxTimestamp: 1_234_571_490 };
    yield { n: 2 };
  }
  let text = '';
  for await (const chunk of indexCsv(revisions())) text += String(chunk);
  expect(parse(text)).toEqual([
    ['Filename', 'Minimum Timestamp', 'Maximum Timestamp', 'Minimum UTC Timestamp', 'Maximum UTC Timestamp'],
    ['revisions/1.json', '1234567890', '1234571490', '2009-02-13 23:31:30', '2009-02-14 00:31:30'],
    ['revisions/2.json', '', '', '', ''],
  ]);
});

describe('revision lines: fields present only where they apply', () => {
  test('a record about nobody has no _p', () => {
    expect(line({ ...base, type: 'event', event: 'x', timestamp: 1_234_567_890_999 })).toBe(
      '{"_t":1234567890,"_n":"x"}',
    );
  });

  test('the user id comes before the company', () => {
    expect(line({ ...base, type: 'user', userId: 'john', companyId: 'acme', timestamp: 1_234_567_890_000 })).toBe(
      '{"_p":"john","_t":1234567890}',
    );
  });

  test('_p2 only on an alias that has one; _n only on events and feedback that have one', () => {
    const at = { timestamp: 1_234_567_890_000 };
    expect(line({ ...base, ...at, type: 'event', userId: 'john', alias: 'other', event: 'x' })).toBe(
      '{"_p":"john","_t":1234567890,"_n":"x"}',
    );
    expect(line({ ...base, ...at, type: 'alias', userId: 'john' })).toBe('{"_p":"john","_t":1234567890}');
    expect(line({ ...base, ...at, type: 'user', userId: 'john', event: 'x', attributes: { a: 'b"c' } })).toBe(
      '{"_p":"john","_t":1234567890,"a":"b\\"c"}',
    );
    expect(line({ ...base, ...at, type: 'event', userId: 'john' })).toBe('{"_p":"john","_t":1234567890}');
    expect(line({ ...base, ...at, type: 'feedback', userId: 'john' })).toBe('{"_p":"john","_t":1234567890}');
  });

  test('names and texts are JSON-escaped', () => {
    expect(
      line({
        ...base,
        type: 'alias',
        userId: 'a"b',
        alias: 'c\nd',
        timestamp: 1_234_567_890_000,
        attributes: { 'q"n': null },
      }),
    ).toBe('{"_p":"a\\"b","_p2":"c\\nd","_t":1234567890,"q\\"n":null}');
  });
});

test('index.csv fails when reading the revisions fails', async () => {
  async function* failing() {
    yield { n: 1 };
    throw new Error('revisions unreadable');
  }
  const read = async () => {
    for await (const chunk of indexCsv(failing())) void chunk;
  };
  await expect(read()).rejects.toThrow('revisions unreadable');
});
