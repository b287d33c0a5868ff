import {
  DAY_MS,
  toEpochDay,
  type CompanyRecord,
  type SegmentCondition,
  type SegmentDefinition,
} from '../../lambdas/core/model';
import { matchingSegments } from '../../lambdas/core/segments';

const ms = (iso: string): number => Date.parse(iso);

const company: CompanyRecord = {
  companyId: 'acme',
  name: 'Acme Inc',
  attributes: {
    plan: 'enterprise',
    domain: 'acme.example.com',
    seats: 42,
    mrr: '1500.50',
    trial: false,
    notes: '',
    owner: null,
  },
  firstSeen: ms('2024-01-01T10:00:00Z'),
  seenDays: new Map([
    [toEpochDay(ms('2024-01-01T00:00:00Z')), ms('2024-01-01T18:00:00Z')],
    [toEpochDay(ms('2024-03-01T00:00:00Z')), ms('2024-03-01T12:00:00Z')],
  ]),
};
const asOf = ms('2024-03-10T00:00:00Z');

const holds = (condition: SegmentCondition, at = asOf): boolean =>
  matchingSegments(company, [{ id: 's', name: 'S', conditions: [condition] }], at).length === 1;

describe('matchingSegments conditions', () => {
  it('equals / notEquals', () => {
    expect(holds({ attribute: 'plan', operator: 'equals', value: 'enterprise' })).toBe(true);
    expect(holds({ attribute: 'plan', operator: 'equals', value: 'Enterprise' })).toBe(false);
    expect(holds({ attribute: 'trial', operator: 'equals', value: false })).toBe(true);
    expect(holds({ attribute: 'plan', operator: 'notEquals', value: 'free' })).toBe(true);
    expect(holds({ attribute: 'plan', operator: 'notEquals', value: 'enterprise' })).toBe(false);
  });

  it('equals treats a number and a numeric string denoting it as equal, and nothing else across types', () => {
    expect(holds({ attribute: 'seats', operator: 'equals', value: '42' })).toBe(true);
    expect(holds({ attribute: 'mrr', operator: 'equals', value: 1500.5 })).toBe(true);
    expect(holds({ attribute: 'trial', operator: 'equals', value: 'false' })).toBe(false);
    expect(holds({ attribute: 'trial', operator: 'equals', value: 0 })).toBe(false);
    expect(holds({ attribute: 'seats', operator: 'equals', value: '43' })).toBe(false);
  });

  it('a numeric string may have spaces around it; two strings compare as text, never as numbers', () => {
    expect(holds({ attribute: 'seats', operator: 'equals', value: ' 42 ' })).toBe(true);
    expect(holds({ attribute: 'mrr', operator: 'greaterThan', value: 1500 })).toBe(true);
    expect(holds({ attribute: 'mrr', operator: 'equals', value: '1500.5' })).toBe(false);
    expect(holds({ attribute: 'mrr', operator: 'anyOf', values: ['1500.50', 'x'] })).toBe(true);
  });

  it('a missing attribute reads as null', () => {
    expect(holds({ attribute: 'region', operator: 'equals', value: null })).toBe(true);
    expect(holds({ attribute: 'region', operator: 'equals', value: 'eu' })).toBe(false);
    expect(holds({ attribute: 'region', operator: 'notEquals', value: 'eu' })).toBe(true);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    "reads only the company's own attributes: a condition on %s sees a missing attribute",
    (attribute) => {
      expect(holds({ attribute, operator: 'isSet' })).toBe(false);
      expect(holds({ attribute, operator: 'isNotSet' })).toBe(true);
      expect(holds({ attribute, operator: 'notEquals', value: null })).toBe(false);
      expect(holds({ attribute, operator: 'contains', value: 'function' })).toBe(false);
    },
  );

  it('an own attribute named like a prototype property is read as any other', () => {
    const withConstructor: CompanyRecord = { ...company, attributes: { constructor: 'Acme Builders' } };
    const segment = {
      id: 's',
      name: 'S',
      conditions: [{ attribute: 'constructor', operator: 'equals', value: 'Acme Builders' }],
    } as SegmentDefinition;
    expect(matchingSegments(withConstructor, [segment], asOf)).toEqual([segment]);
    expect(matchingSegments(company, [segment], asOf)).toEqual([]);
  });

  it('contains is a case-sensitive substring test on string attributes', () => {
    expect(holds({ attribute: 'domain', operator: 'contains', value: 'example' })).toBe(true);
    expect(holds({ attribute: 'domain', operator: 'contains', value: 'EXAMPLE' })).toBe(false);
    expect(holds({ attribute: 'seats', operator: 'contains', value: '4' })).toBe(false);
    expect(holds({ attribute: 'region', operator: 'contains', value: '' })).toBe(false);
  });

  it('anyOf', () => {
    expect(holds({ attribute: 'plan', operator: 'anyOf', values: ['pro', 'enterprise'] })).toBe(true);
    expect(holds({ attribute: 'plan', operator: 'anyOf', values: ['free', 'pro'] })).toBe(false);
    expect(holds({ attribute: 'seats', operator: 'anyOf', values: ['41', '42'] })).toBe(true);
    expect(holds({ attribute: 'plan', operator: 'anyOf', values: [] })).toBe(false);
  });

  it('greaterThan / lessThan compare numbers and numeric strings, strictly', () => {
    expect(holds({ attribute: 'seats', operator: 'greaterThan', value: 41 })).toBe(true);
    expect(holds({ attribute: 'seats', operator: 'greaterThan', value: 42 })).toBe(false);
    expect(holds({ attribute: 'seats', operator: 'lessThan', value: 43 })).toBe(true);
    expect(holds({ attribute: 'seats', operator: 'lessThan', value: 42 })).toBe(false);
    expect(holds({ attribute: 'mrr', operator: 'greaterThan', value: 1000 })).toBe(true);
    expect(holds({ attribute: 'mrr', operator: 'lessThan', value: 200 })).toBe(false); // not string order
  });

  it('greaterThan / lessThan never match non-numeric or missing attributes', () => {
    for (const attribute of ['plan', 'trial', 'notes', 'owner', 'region']) {
      expect(holds({ attribute, operator: 'greaterThan', value: -1e9 })).toBe(false);
      expect(holds({ attribute, operator: 'lessThan', value: 1e9 })).toBe(false);
    }
  });

  it('isSet / isNotSet: null, missing and empty are not set; false is', () => {
    expect(holds({ attribute: 'plan', operator: 'isSet' })).toBe(true);
    expect(holds({ attribute: 'trial', operator: 'isSet' })).toBe(true);
    for (const attribute of ['owner', 'region', 'notes']) {
      expect(holds({ attribute, operator: 'isSet' })).toBe(false);
      expect(holds({ attribute, operator: 'isNotSet' })).toBe(true);
    }
    expect(holds({ attribute: 'plan', operator: 'isNotSet' })).toBe(false);
  });

  it('firstSeen moreThanDaysAgo / lessThanDaysAgo, relative to asOf', () => {
    // First seen 2024-01-01T10:00, 68 days and 14 hours before asOf (2024 is a leap year).
    expect(holds({ field: 'firstSeen', operator: 'moreThanDaysAgo', days: 68 })).toBe(true);
    expect(holds({ field: 'firstSeen', operator: 'moreThanDaysAgo', days: 69 })).toBe(false);
    expect(holds({ field: 'firstSeen', operator: 'lessThanDaysAgo', days: 69 })).toBe(true);
    expect(holds({ field: 'firstSeen', operator: 'lessThanDaysAgo', days: 68 })).toBe(false);
  });

  it('lastSeen uses the last seen as of asOf, not later data', () => {
    // As of Mar 10 the company was last seen Mar 1 12:00 (8.5 days before).
    expect(holds({ field: 'lastSeen', operator: 'lessThanDaysAgo', days: 9 })).toBe(true);
    expect(holds({ field: 'lastSeen', operator: 'moreThanDaysAgo', days: 8 })).toBe(true);
    // As of Feb 1 it was last seen Jan 1 18:00, although Mar 1 is in the data.
    const feb1 = ms('2024-02-01T00:00:00Z');
    expect(holds({ field: 'lastSeen', operator: 'moreThanDaysAgo', days: 30 }, feb1)).toBe(true);
    expect(holds({ field: 'lastSeen', operator: 'lessThanDaysAgo', days: 31 }, feb1)).toBe(true);
  });

  it('at exactly N days ago, neither moreThanDaysAgo nor lessThanDaysAgo N holds', () => {
    const segmentWith = (operator: 'moreThanDaysAgo' | 'lessThanDaysAgo'): SegmentDefinition => ({
      id: operator,
      name: operator,
      conditions: [{ field: 'lastSeen', operator, days: 7 }],
    });
    const seen = { firstSeen: company.firstSeen, lastSeen: asOf - 7 * DAY_MS };
    const both = [segmentWith('moreThanDaysAgo'), segmentWith('lessThanDaysAgo')];
    expect(matchingSegments(company, both, asOf, seen)).toEqual([]);
    expect(matchingSegments(company, both, asOf + 1, seen).map((s) => s.id)).toEqual(['moreThanDaysAgo']);
    expect(matchingSegments(company, both, asOf - 1, seen).map((s) => s.id)).toEqual(['lessThanDaysAgo']);
  });

  it('seen conditions never hold before the company was first seen', () => {
    const before = company.firstSeen - DAY_MS;
    expect(holds({ field: 'firstSeen', operator: 'lessThanDaysAgo', days: 1000 }, before)).toBe(false);
    expect(holds({ field: 'lastSeen', operator: 'moreThanDaysAgo', days: 0 }, before)).toBe(false);
  });

  it('accepts a precomputed seen state instead of deriving it', () => {
    const segment: SegmentDefinition = {
      id: 's',
      name: 'Recent',
      conditions: [{ field: 'lastSeen', operator: 'lessThanDaysAgo', days: 1 }],
    };
    const seen = { firstSeen: company.firstSeen, lastSeen: asOf - 1000 };
    expect(matchingSegments(company, [segment], asOf, seen)).toEqual([segment]);
    expect(matchingSegments(company, [segment], asOf)).toEqual([]);
  });
});

describe('matchingSegments', () => {
  const segment = (id: string, name: string, conditions: SegmentCondition[]): SegmentDefinition => ({
    id,
    name,
    conditions,
  });

  it('requires every condition (AND) and matches everyone without conditions', () => {
    const both = segment('a', 'Both', [
      { attribute: 'plan', operator: 'equals', value: 'enterprise' },
      { attribute: 'seats', operator: 'greaterThan', value: 100 },
    ]);
    const everyone = segment('b', 'Everyone', []);
    expect(matchingSegments(company, [both, everyone], asOf)).toEqual([everyone]);
  });

  it('sorts by name, then id, whatever the input order, without changing the input', () => {
    const segments = [
      segment('s3', 'beta', []),
      segment('s2', 'Alpha', []),
      segment('s9', 'Alpha', []),
      segment('s1', 'alpha', []),
      segment('s0', 'Zeta', [{ attribute: 'plan', operator: 'equals', value: 'free' }]),
    ];
    const inputOrder = segments.map((s) => s.id);
    expect(matchingSegments(company, segments, asOf).map((s) => s.id)).toEqual(['s2', 's9', 's1', 's3']);
    expect(segments.map((s) => s.id)).toEqual(inputOrder);
  });

  it('sorts the same way from every input order: names in code-unit order, equal names by id', () => {
    const sorted = [
      segment('s2', 'Alpha', []),
      segment('s9', 'Alpha', []),
      segment('s1', 'alpha', []),
      segment('s0', 'beta', []),
    ];
    const permutations = (items: SegmentDefinition[]): SegmentDefinition[][] =>
      items.length <= 1
        ? [items]
        : items.flatMap((item, i) => permutations(items.filter((_, j) => j !== i)).map((rest) => [item, ...rest]));
    for (const input of permutations(sorted)) {
      expect(matchingSegments(company, input, asOf).map((s) => s.id)).toEqual(['s2', 's9', 's1', 's0']);
    }
  });
});
