/**
 * What is kept and shown of an ingest key (lambdas/core/ingest-keys.ts): its SHA-256 (hex, the lookup
 * key) and its first six characters, shown followed by an ellipsis.
 */
import { createHash } from 'node:crypto';
import {
  DEFAULT_INGEST_KEY_GRACE_SECONDS,
  hashIngestKey,
  maskedIngestKey,
  storedIngestKey,
} from '../../lambdas/core/ingest-keys';

test('the hash is the SHA-256 of the key as UTF-8, in hex: a known vector, and a non-ASCII key', () => {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  expect(hashIngestKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  expect(hashIngestKey('ik_clé')).toBe(createHash('sha256').update(Buffer.from('ik_clé', 'utf8')).digest('hex'));
  expect(hashIngestKey('ik_clé')).not.toBe(createHash('sha256').update(Buffer.from('ik_clé', 'latin1')).digest('hex'));
});

test('keys differing in one character have different hashes; the same key always the same', () => {
  const key = 'ik_0123456789abcdef0123456789abcdef01234567';
  expect(hashIngestKey(key)).toBe(hashIngestKey(`${key}`));
  expect(hashIngestKey(key)).not.toBe(hashIngestKey(key.replace(/7$/, '8')));
});

test('only the hash and the first six characters are stored, never the key', () => {
  const key = 'ik_abc0123456789abcdef0123456789abcdef012345';
  const stored = storedIngestKey(key);
  expect(stored).toEqual({ hash: hashIngestKey(key), prefix: 'ik_abc' });
  expect(JSON.stringify(stored)).not.toContain(key);
});

test('the masked key is its prefix and an ellipsis', () => {
  expect(maskedIngestKey('ik_abc')).toBe('ik_abc…');
});

test('a replaced key keeps working for a day by default', () => {
  expect(DEFAULT_INGEST_KEY_GRACE_SECONDS).toBe(86_400);
});
