/**
 * Ingest keys: what is stored of them and what is shown. The key itself is answered once, when it is
 * issued (environment created, key rotated); the service keeps only its hash and a short prefix.
 */
import { createHash } from 'node:crypto';

/** Characters of the key kept for display (`ik_` and three more): enough to tell keys apart, nothing to guess with. */
const SHOWN_PREFIX_LENGTH = 6;

/** How long a replaced key keeps working by default, so senders can switch without losing data. */
export const DEFAULT_INGEST_KEY_GRACE_SECONDS = 24 * 3600;

/**
 * SHA-256 of the key, hex. A fast hash is enough here: keys are 192 random bits (services.ts
 * newIngestKey), so unlike passwords there is no dictionary to try and a brute force of 2^192 guesses is
 * out of reach however fast each guess is; a slow hash (bcrypt, scrypt) would only add latency to every
 * ingest request. The hash is deterministic, so it is the lookup key itself.
 */
export function hashIngestKey(ingestKey: string): string {
  return createHash('sha256').update(ingestKey, 'utf8').digest('hex');
}

export interface StoredIngestKey {
  hash: string;
  /** The first characters of the key, shown masked (`ik_abc…`). */
  prefix: string;
}

export function storedIngestKey(ingestKey: string): StoredIngestKey {
  return { hash: hashIngestKey(ingestKey), prefix: ingestKey.slice(0, SHOWN_PREFIX_LENGTH) };
}

/** The key as the API shows it after it was issued: its prefix, then an ellipsis. */
export const maskedIngestKey = (prefix: string): string => `${prefix}…`;
