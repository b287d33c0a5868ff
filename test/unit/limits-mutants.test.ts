/**
 * Boundaries of the input limits (lambdas/core/limits.ts) that the mutation run found untested: nesting
 * exactly at the limit with scalar leaves, a trailing "/" after a ".." segment, and how the usage
 * history stores attribute values (scalars as they are, nested JSON as its text).
 */
import {
  keyPrefixProblem,
  nestedValueProblem,
  nestingDeeperThan,
  storedAttributeValue,
} from '../../lambdas/core/limits';

/** `levels` nested arrays around a scalar: [[[1]]] has 3 levels. */
const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);

describe('nesting limits', () => {
  it('accept values nested exactly to the limit, scalars included, and refuse one level more', () => {
    expect(nestingDeeperThan(nested(3), 3)).toBe(false);
    expect(nestingDeeperThan(nested(4), 3)).toBe(true);
    expect(nestedValueProblem(nested(3) as object, 3)).toBeUndefined();
    expect(nestedValueProblem(nested(4) as object, 3)).toBe(
      'nests objects and arrays more than 3 levels deep; flatten it',
    );
  });
});

describe('keyPrefixProblem', () => {
  it('refuses a ".." segment also when a trailing "/" follows it', () => {
    expect(keyPrefixProblem('exports/../')).toBe('must not contain "." or ".." segments');
    expect(keyPrefixProblem('exports/daily/')).toBeUndefined();
  });
});

describe('storedAttributeValue', () => {
  it('keeps scalars as they are and nested JSON as its JSON text', () => {
    expect([null, 'text', 0, 2.5, true, false].map(storedAttributeValue)).toEqual([null, 'text', 0, 2.5, true, false]);
    expect(storedAttributeValue({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(storedAttributeValue([])).toBe('[]');
  });
});
