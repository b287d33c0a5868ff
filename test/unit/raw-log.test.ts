import fc from 'fast-check';
import {
  asRawRecord,
  decodeRawRecord,
  environmentPrefix,
  objectHour,
  RawObjectKeyError,
  encodeRawRecord,
  hourPrefixes,
  inWindow,
  rawObjectName,
  RawRecordFormatError,
  type RawRecord,
} from '../../lambdas/core/raw-log';

const at = (iso: string) => Date.parse(iso);

const record = (overrides: Partial<RawRecord> = {}): RawRecord => ({
  id: 'r1',
  environmentId: 'env_1',
  receivedAt: at('2026-12-07T10:00:00Z'),
  type: 'event',
  ...overrides,
});

describe('record encoding', () => {
  it('writes one JSON line with the fields in a fixed order and absent ones left out', () => {
    const line = encodeRawRecord({
      alias: undefined,
      context: { active: false },
      attributes: { plan: 'pro', nested: { a: [1, 2] } },
      timestamp: 5,
      event: 'report_run',
      userId: 'u1',
      ...record(),
    });
    expect(line).toBe(
      '{"id":"r1","environmentId":"env_1","receivedAt":1796637600000,"type":"event","userId":"u1","event":"report_run",' +
        '"timestamp":5,"attributes":{"plan":"pro","nested":{"a":[1,2]}},"context":{"active":false}}\n',
    );
    expect(line.indexOf('\n')).toBe(line.length - 1);
  });

  it('decodes what it encodes, whatever the text (newlines, quotes, unicode)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 20 });
    const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<RawRecord['context']>;
    const records = fc.record(
      {
        id: text,
        environmentId: text,
        receivedAt: fc.integer({ min: 0, max: 2 ** 45 }),
        type: fc.constantFrom('event', 'user', 'company', 'feedback', 'alias' as const),
        userId: text,
        companyId: text,
        event: text,
        timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
        attributes: fc.dictionary(text, json as fc.Arbitrary<NonNullable<RawRecord['context']>>),
        context: json,
        alias: text,
      },
      { requiredKeys: ['id', 'environmentId', 'receivedAt', 'type'] },
    );
    fc.assert(
      fc.property(records, (value) => {
        const line = encodeRawRecord(value);
        expect(line.slice(0, -1)).not.toContain('\n');
        expect(decodeRawRecord(line)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it.each([
    ['not JSON', '{"id":', 'not JSON'],
    ['an array', '[1]', 'JSON object'],
    ['no id', '{"environmentId":"e","receivedAt":1,"type":"event"}', '"id"'],
    ['a text receivedAt', '{"id":"a","environmentId":"e","receivedAt":"1","type":"event"}', '"receivedAt"'],
    ['an unknown type', '{"id":"a","environmentId":"e","receivedAt":1,"type":"page"}', '"type"'],
    ['a numeric userId', '{"id":"a","environmentId":"e","receivedAt":1,"type":"user","userId":5}', '"userId"'],
    ['list attributes', '{"id":"a","environmentId":"e","receivedAt":1,"type":"user","attributes":[]}', '"attributes"'],
    [
      'null attributes',
      '{"id":"a","environmentId":"e","receivedAt":1,"type":"user","attributes":null}',
      '"attributes"',
    ],
    ['no environmentId', '{"id":"a","receivedAt":1,"type":"event"}', '"environmentId"'],
    [
      'a numeric companyId',
      '{"id":"a","environmentId":"e","receivedAt":1,"type":"company","companyId":5}',
      '"companyId"',
    ],
    ['a numeric event', '{"id":"a","environmentId":"e","receivedAt":1,"type":"event","event":5}', '"event"'],
    ['a text timestamp', '{"id":"a","environmentId":"e","receivedAt":1,"type":"event","timestamp":"5"}', '"timestamp"'],
    ['a numeric alias', '{"id":"a","environmentId":"e","receivedAt":1,"type":"alias","alias":5}', '"alias"'],
    ['null', 'null', 'JSON object'],
    ['a string', '"event"', 'JSON object'],
    ['text attributes', '{"id":"a","environmentId":"e","receivedAt":1,"type":"user","attributes":"x"}', '"attributes"'],
  ])('refuses a line with %s', (_, line, named) => {
    expect(() => decodeRawRecord(line)).toThrow(RawRecordFormatError);
    expect(() => decodeRawRecord(line)).toThrow(named);
  });
});

it('names the first wrong field exactly, keeps the parse error as cause, and refuses times that are not finite', () => {
  expect(() => decodeRawRecord('{"id":1,"environmentId":2}')).toThrow(
    new RawRecordFormatError('A raw record has a missing or invalid "id".'),
  );
  expect(() => decodeRawRecord('{')).toThrow(
    expect.objectContaining({
      name: 'RawRecordFormatError',
      message: 'A raw record line is not JSON.',
      cause: expect.objectContaining({ name: 'SyntaxError' }),
    }),
  );
  for (const time of [Number.NaN, Number.POSITIVE_INFINITY]) {
    expect(() => asRawRecord({ id: 'a', environmentId: 'e', receivedAt: time, type: 'event' })).toThrow('"receivedAt"');
    expect(() => asRawRecord({ id: 'a', environmentId: 'e', receivedAt: 1, type: 'event', timestamp: time })).toThrow(
      '"timestamp"',
    );
  }
  const complete = { id: 'a', environmentId: 'e', receivedAt: 1, type: 'feedback', userId: 'u', companyId: 'c' };
  expect(asRawRecord({ ...complete, event: 'k', timestamp: 0, attributes: {}, context: [1], alias: 'x' })).toEqual({
    ...complete,
    event: 'k',
    timestamp: 0,
    attributes: {},
    context: [1],
    alias: 'x',
  });
});

describe('object keys', () => {
  it("give an object's receive hour", () => {
    expect(objectHour('raw/env_1/2026/12/07/10/raw-events-1-2026-12-07-10-00-01-c0ffee.jsonl.gz')).toBe(
      at('2026-12-07T10:00:00Z'),
    );
    expect(environmentPrefix('env_1')).toBe('raw/env_1/');
  });

  it.each([
    'x/raw/env_1/2026/12/07/10/name',
    'raw/env_1/2026/12/07/10/',
    'raw/env_1/2026/12/07/10/name/more',
    'raw/env_1/2026/12/7/10/name',
    'raw//2026/12/07/10/name',
  ])('refuses %p, naming it', (key) => {
    expect(() => objectHour(key)).toThrow(new RawObjectKeyError(`Not a raw event log object key: ${key}`));
    expect(() => objectHour(key)).toThrow(expect.objectContaining({ name: 'RawObjectKeyError' }));
  });
});

describe('object names', () => {
  it('follow the Firehose format', () => {
    expect(rawObjectName('raw-events', 1, at('2026-03-04T05:06:07.890Z'), 'c0ffee')).toBe(
      'raw-events-1-2026-03-04-05-06-07-c0ffee.jsonl.gz',
    );
  });

  it('sort in the order of their oldest record within an hour', () => {
    const hour = at('2026-12-07T10:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3_599_999 }), fc.integer({ min: 0, max: 3_599_999 }), (a, b) => {
        const [first, second] = [rawObjectName('s', 1, hour + a, 'x'), rawObjectName('s', 1, hour + b, 'x')];
        if (Math.floor(a / 1000) < Math.floor(b / 1000)) expect(first < second).toBe(true);
        if (Math.floor(a / 1000) > Math.floor(b / 1000)) expect(first > second).toBe(true);
      }),
    );
  });
});

describe('receive windows', () => {
  it('list one prefix per UTC hour touched, across a day edge', () => {
    expect(hourPrefixes('env_1', { from: at('2026-12-31T22:30:00Z'), to: at('2027-01-01T01:00:00Z') })).toEqual([
      'raw/env_1/2026/12/31/22/',
      'raw/env_1/2026/12/31/23/',
      'raw/env_1/2027/01/01/00/',
    ]);
  });

  it('leave out the hour that starts at the window end (excluded) and keep the one holding its last ms', () => {
    expect(hourPrefixes('e', { from: at('2026-12-07T10:00:00Z'), to: at('2026-12-07T11:00:00Z') })).toEqual([
      'raw/e/2026/12/07/10/',
    ]);
    expect(hourPrefixes('e', { from: at('2026-12-07T10:59:59.999Z'), to: at('2026-12-07T11:00:00.001Z') })).toEqual([
      'raw/e/2026/12/07/10/',
      'raw/e/2026/12/07/11/',
    ]);
    expect(hourPrefixes('e', { from: 5, to: 5 })).toEqual([]);
  });

  it('hold the start and not the end', () => {
    const window = { from: at('2026-12-07T00:00:00Z'), to: at('2026-12-08T00:00:00Z') };
    expect(inWindow(window, window.from)).toBe(true);
    expect(inWindow(window, window.from - 1)).toBe(false);
    expect(inWindow(window, window.to - 1)).toBe(true);
    expect(inWindow(window, window.to)).toBe(false);
  });
});
