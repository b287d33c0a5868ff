/**
 * A company's stored attributes (lambdas/core/company-attributes.ts): updates merge key by key, a
 * value replaced only by one sent at the same time or later (so updates commute and a retry changes
 * nothing), and the bound of DESIGN's "No stored item may grow without bound": an update that would
 * take the company past MAX_COMPANY_ATTRIBUTES keys or MAX_COMPANY_ATTRIBUTE_BYTES is refused, one
 * that does not grow them is kept.
 */
import {
  MAX_COMPANY_ATTRIBUTES,
  MAX_COMPANY_ATTRIBUTE_BYTES,
  changesNothing,
  mergeCompanyAttributes,
  type StoredAttributes,
} from '../../lambdas/core/company-attributes';
import { ValidationError } from '../../lambdas/core/errors';
import type { AttributeValue } from '../../lambdas/core/model';

const T = Date.parse('2026-12-07T10:00:00Z');
const EMPTY: StoredAttributes = { values: {}, times: {} };

/** `count` attributes `k0`, `k1`, ... with number values. */
const numbered = (count: number, prefix = 'k'): Record<string, AttributeValue> =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, i]));

const storedAt = (values: Record<string, AttributeValue>, at: number): StoredAttributes => ({
  values,
  times: Object.fromEntries(Object.keys(values).map((key) => [key, at])),
});

function refusal(merge: () => unknown): ValidationError {
  try {
    merge();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('the merge was not refused');
}

describe('mergeCompanyAttributes', () => {
  it('merges key by key, recording when each value was sent, and leaves the stored attributes unchanged', () => {
    const stored = storedAt({ name: 'Acme', plan: 'free' }, T - 10);
    const merged = mergeCompanyAttributes('acme', stored, { plan: 'pro', seats: 5 }, T);
    expect(merged).toEqual({
      values: { name: 'Acme', plan: 'pro', seats: 5 },
      times: { name: T - 10, plan: T, seats: T },
    });
    expect(stored).toEqual(storedAt({ name: 'Acme', plan: 'free' }, T - 10));
  });

  it('keeps a value sent later than the update, and takes one sent at the same time', () => {
    const stored = storedAt({ plan: 'enterprise', tier: 'gold' }, T);
    expect(mergeCompanyAttributes('acme', stored, { plan: 'free' }, T - 1)).toEqual(stored);
    expect(mergeCompanyAttributes('acme', stored, { tier: 'silver' }, T)).toEqual({
      values: { plan: 'enterprise', tier: 'silver' },
      times: { plan: T, tier: T },
    });
  });

  it('gives the same result whatever order two updates arrive in', () => {
    const older = { plan: 'free', seats: 1 };
    const newer = { plan: 'pro' };
    const oneWay = mergeCompanyAttributes('acme', mergeCompanyAttributes('acme', EMPTY, older, T - 1), newer, T);
    const otherWay = mergeCompanyAttributes('acme', mergeCompanyAttributes('acme', EMPTY, newer, T), older, T - 1);
    expect(otherWay).toEqual(oneWay);
    expect(oneWay.values).toEqual({ plan: 'pro', seats: 1 });
  });

  it(`takes a company to exactly ${MAX_COMPANY_ATTRIBUTES} attributes, and refuses the one after, naming the field`, () => {
    const full = mergeCompanyAttributes('acme', storedAt(numbered(MAX_COMPANY_ATTRIBUTES - 1), T), { last: 1 }, T);
    expect(Object.keys(full.values)).toHaveLength(MAX_COMPANY_ATTRIBUTES);
    const error = refusal(() => mergeCompanyAttributes('acme', full, { one: true }, T, '[3].attributes'));
    const bytes = Object.keys(full.values).reduce((sum, key) => sum + key.length + 21, 0) + 'one'.length + 1;
    const message =
      `a company keeps at most ${MAX_COMPANY_ATTRIBUTES} attributes and ${MAX_COMPANY_ATTRIBUTE_BYTES} bytes of them; ` +
      `with this update company "acme" would have ${MAX_COMPANY_ATTRIBUTES + 1} attributes and ${bytes} bytes. ` +
      'Send fewer or shorter attributes, or update keys it already has.';
    expect(error.message).toBe(`Too many company attributes: ${message}`);
    expect(error.issues).toEqual([{ path: '[3].attributes', message }]);
  });

  it('names the attributes field by default', () => {
    const error = refusal(() => mergeCompanyAttributes('acme', EMPTY, numbered(MAX_COMPANY_ATTRIBUTES + 1), T));
    expect(error.issues.map((issue) => issue.path)).toEqual(['attributes']);
  });

  it(`takes a company to exactly ${MAX_COMPANY_ATTRIBUTE_BYTES} bytes (its keys and UTF-8 text), and refuses one byte more`, () => {
    // Key 'a' (1 byte) and 'é' (2 bytes) repeated: 1 + 2 * n bytes; then key 'b' and the rest.
    const text = 'é'.repeat(40_000);
    const rest = MAX_COMPANY_ATTRIBUTE_BYTES - (1 + 2 * text.length) - 1;
    const exact = mergeCompanyAttributes('acme', EMPTY, { a: text, b: 'x'.repeat(rest) }, T);
    expect(Object.keys(exact.values)).toEqual(['a', 'b']);
    const error = refusal(() => mergeCompanyAttributes('acme', EMPTY, { a: text, b: 'x'.repeat(rest + 1) }, T));
    expect(error.message).toContain(`would have 2 attributes and ${MAX_COMPANY_ATTRIBUTE_BYTES + 1} bytes`);
  });

  it('counts a number as 21 bytes and true, false and null as 1, as DynamoDB sizes them', () => {
    const error = refusal(() =>
      mergeCompanyAttributes('acme', EMPTY, { ...numbered(MAX_COMPANY_ATTRIBUTES - 2), yes: true, no: null, n: 12 }, T),
    );
    const keyBytes =
      Object.keys(numbered(MAX_COMPANY_ATTRIBUTES - 2)).reduce((sum, key) => sum + key.length, 0) +
      'yes'.length +
      'no'.length +
      'n'.length;
    const valueBytes = 21 * (MAX_COMPANY_ATTRIBUTES - 2) + 1 + 1 + 21;
    expect(error.message).toContain(
      `would have ${MAX_COMPANY_ATTRIBUTES + 1} attributes and ${keyBytes + valueBytes} bytes`,
    );
  });

  it('keeps an update of keys already stored above the bound, as long as it does not grow them', () => {
    const over = storedAt({ ...numbered(MAX_COMPANY_ATTRIBUTES + 5), note: 'long text' }, T - 1);
    const merged = mergeCompanyAttributes('acme', over, { k0: 7, note: 'short' }, T);
    expect(merged.values).toMatchObject({ k0: 7, note: 'short' });
    expect(mergeCompanyAttributes('acme', over, { k1: 8, note: 'LONG TEXT' }, T).values).toMatchObject({
      k1: 8,
      note: 'LONG TEXT',
    });
    expect(() => mergeCompanyAttributes('acme', over, { note: 'longer text' }, T)).toThrow(ValidationError);
    expect(() => mergeCompanyAttributes('acme', over, { extra: 1 }, T)).toThrow(ValidationError);
  });

  it('refuses a new key past the count bound even when the same update shrinks the bytes', () => {
    const full = storedAt({ ...numbered(MAX_COMPANY_ATTRIBUTES - 1), note: 'x'.repeat(100) }, T - 1);
    expect(() => mergeCompanyAttributes('acme', full, { note: '', extra: 1 }, T)).toThrow(ValidationError);
  });

  it('refuses a single value that alone passes the byte bound, on a company with room for keys', () => {
    expect(() => mergeCompanyAttributes('acme', EMPTY, { blob: 'x'.repeat(MAX_COMPANY_ATTRIBUTE_BYTES) }, T)).toThrow(
      ValidationError,
    );
  });
});

describe('changesNothing', () => {
  const stored = storedAt({ plan: 'pro', seats: 5 }, T);

  it('is true for a repeated update and for an older one', () => {
    expect(changesNothing(stored, mergeCompanyAttributes('acme', stored, { plan: 'pro' }, T))).toBe(true);
    expect(changesNothing(stored, mergeCompanyAttributes('acme', stored, { plan: 'free' }, T - 1))).toBe(true);
  });

  it('is false when a value, a time or a key changes', () => {
    expect(changesNothing(stored, mergeCompanyAttributes('acme', stored, { plan: 'free' }, T))).toBe(false);
    expect(changesNothing(stored, mergeCompanyAttributes('acme', stored, { plan: 'pro' }, T + 1))).toBe(false);
    expect(changesNothing(stored, mergeCompanyAttributes('acme', stored, { name: 'Acme' }, T))).toBe(false);
  });
});
