import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiRoutes, openApiDocument, type ApiServices } from '../../lambdas/http/api-routes';
import {
  LIMITS_TABLE,
  MAX_BODY_BYTES,
  MAX_ID_BYTES,
  MAX_KEY_PREFIX_BYTES,
  MAX_NESTING_DEPTH,
  MAX_NUMBER_MAGNITUDE,
  hasLoneSurrogate,
  idProblem,
  keyPrefixProblem,
  nestedValueProblem,
  nestingDeeperThan,
  numberProblem,
} from '../../lambdas/core/limits';

/** `depth` levels of arrays around a scalar, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

describe('input limits', () => {
  it('measures nesting without recursion, exactly at the limit and past it', () => {
    expect(nestingDeeperThan(nested(MAX_NESTING_DEPTH), MAX_NESTING_DEPTH)).toBe(false);
    expect(nestingDeeperThan(nested(MAX_NESTING_DEPTH + 1), MAX_NESTING_DEPTH)).toBe(true);
    expect(nestingDeeperThan(nested(100_000), MAX_NESTING_DEPTH)).toBe(true);
    expect(nestingDeeperThan('text', 0)).toBe(false);
    expect(nestingDeeperThan({}, 0)).toBe(true);
  });

  it('nested attribute values: depth, numbers in range at any level, no empty keys (found by the fuzz: a nested 5.8e160 or "" key failed the profile write)', () => {
    expect(nestedValueProblem(nested(MAX_NESTING_DEPTH) as object, MAX_NESTING_DEPTH)).toBeUndefined();
    expect(nestedValueProblem(nested(100_000) as object, MAX_NESTING_DEPTH)).toMatch(/more than 8 levels/);
    expect(nestedValueProblem({ a: { b: [1, MAX_NUMBER_MAGNITUDE] } }, MAX_NESTING_DEPTH)).toBeUndefined();
    expect(nestedValueProblem({ a: { b: [1, 5.777964456031756e160] } }, MAX_NESTING_DEPTH)).toMatch(
      /5\.777964456031756e\+160, which must be between/,
    );
    expect(nestedValueProblem([{ x: -7.7e-239 }], MAX_NESTING_DEPTH)).toMatch(/must be 0 or at least 1e-130/);
    expect(nestedValueProblem({ a: { '': null } }, MAX_NESTING_DEPTH)).toMatch(/empty key/);
    expect(nestedValueProblem({ a: [''] }, MAX_NESTING_DEPTH)).toBeUndefined();
  });

  it('ids are 1-256 bytes of valid UTF-8', () => {
    expect(idProblem('a'.repeat(MAX_ID_BYTES))).toBeUndefined();
    expect(idProblem('a'.repeat(MAX_ID_BYTES + 1))).toMatch(/at most 256 bytes of UTF-8 \(it has 257\)/);
    // 128 two-byte characters are 256 bytes; one more is over.
    expect(idProblem('é'.repeat(128))).toBeUndefined();
    expect(idProblem('é'.repeat(128) + 'a')).toMatch(/257/);
    expect(idProblem('')).toMatch(/empty/);
    expect(idProblem('a\ud800')).toMatch(/lone surrogate/);
    expect(idProblem('😀')).toBeUndefined();
  });

  it('tells lone surrogates from pairs', () => {
    expect(hasLoneSurrogate('😀')).toBe(false);
    expect(hasLoneSurrogate('\udc00\ud800')).toBe(true);
    expect(hasLoneSurrogate('x\ud83d')).toBe(true);
  });

  it('numbers are finite, within ±(2^53-1), and 0 or at least 1e-130 in magnitude', () => {
    for (const fine of [0, -0, 1.5, MAX_NUMBER_MAGNITUDE, -MAX_NUMBER_MAGNITUDE, 1e-130])
      expect(numberProblem(fine)).toBeUndefined();
    expect(numberProblem(MAX_NUMBER_MAGNITUDE + 1)).toMatch(/send larger numbers as a string/);
    expect(numberProblem(1e16)).toMatch(/9007199254740991/);
    expect(numberProblem(-1e16)).toBeDefined();
    expect(numberProblem(1e-131)).toMatch(/1e-130/);
    expect(numberProblem(Number.POSITIVE_INFINITY)).toMatch(/finite/);
    expect(numberProblem(Number.NaN)).toMatch(/finite/);
  });

  it('key prefixes: folders without empty, "." or ".." segments, a leading "/" or control characters', () => {
    for (const fine of ['', 'exports', 'exports/', 'a/b.c/..d', 'x'.repeat(512)])
      expect(keyPrefixProblem(fine)).toBeUndefined();
    for (const bad of [
      '..',
      '.',
      'a/../b',
      '/a',
      'a//b',
      '//',
      'a\u0000',
      'a\u007f',
      'a\u0085',
      'x'.repeat(513),
      'a\udc00',
    ]) {
      expect(keyPrefixProblem(bad)).toBeDefined();
    }
  });
});

describe('where the limits are published', () => {
  const document = openApiDocument(apiRoutes({} as ApiServices)) as any;

  it('the API guide states every limit as the code does, and the README links to it', () => {
    const guide = readFileSync(join(__dirname, '../../docs/api.md'), 'utf8');
    for (const { input, limit, refusal } of LIMITS_TABLE)
      expect(guide).toContain(`| ${input} | ${limit} | ${refusal} |`);
    expect(readFileSync(join(__dirname, '../../README.md'), 'utf8')).toContain('(docs/api.md#limits)');
  });

  it('the OpenAPI document states them: the table, the body limit and the bounds of each schema', () => {
    for (const { limit } of LIMITS_TABLE) expect(document.info.description).toContain(limit);
    const settings = document.paths['/v1/environments/{envId}/data-export/settings'].put.requestBody;
    expect(settings.description).toContain(`${MAX_BODY_BYTES} bytes`);
    expect(settings.content['application/json'].schema.properties.key).toMatchObject({
      maxLength: MAX_KEY_PREFIX_BYTES,
    });
    const feature = document.paths['/v1/environments/{envId}/features/{featureId}'].put;
    expect(feature.requestBody.content['application/json'].schema.properties.key).toMatchObject({
      minLength: 1,
      maxLength: MAX_ID_BYTES,
    });
    expect(feature.parameters[1].schema.pattern).toBeDefined();
    const segment =
      document.paths['/v1/environments/{envId}/segments/{segmentId}'].put.requestBody.content['application/json']
        .schema;
    const greaterThan = segment.properties.conditions.items.anyOf.find((c: any) =>
      c.properties.operator.enum?.includes('greaterThan'),
    );
    expect(greaterThan.properties.value).toMatchObject({
      minimum: -MAX_NUMBER_MAGNITUDE,
      maximum: MAX_NUMBER_MAGNITUDE,
    });
  });
});
