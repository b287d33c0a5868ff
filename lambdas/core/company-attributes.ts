/**
 * The bound on a company's stored attributes. Tracking merges every update into them key by key, so
 * without a bound a company item would grow with each new key until DynamoDB refuses it (400 KB) and
 * every later write for that company failed. An update that would pass the bound is refused (400)
 * before anything of its request is written; updates of keys already stored stay within it.
 */
import { ValidationError } from './errors';
import type { AttributeValue } from './model';

export const MAX_COMPANY_ATTRIBUTES = 200;
export const MAX_COMPANY_ATTRIBUTE_BYTES = 100 * 1024;

/** A key and its value as DynamoDB sizes them: UTF-8 text, a number at most 21 bytes, true/false/null 1 byte. */
function attributeBytes(key: string, value: AttributeValue): number {
  const valueBytes = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : typeof value === 'number' ? 21 : 1;
  return Buffer.byteLength(key, 'utf8') + valueBytes;
}

const totalBytes = (attributes: Readonly<Record<string, AttributeValue>>): number =>
  Object.entries(attributes).reduce((sum, [key, value]) => sum + attributeBytes(key, value), 0);

/** A company's attributes and when each value was sent (epoch ms of its item's timestamp). */
export interface StoredAttributes {
  values: Record<string, AttributeValue>;
  times: Record<string, number>;
}

/**
 * The stored attributes with an update sent at `at` merged in, key by key: a value is replaced only by
 * one sent at the same time or later, so updates commute and a retried one changes nothing. Fails with
 * a ValidationError on `path` when the update would take the company past MAX_COMPANY_ATTRIBUTES keys
 * or MAX_COMPANY_ATTRIBUTE_BYTES (an update that does not grow them is kept, even above the bound).
 */
export function mergeCompanyAttributes(
  companyId: string,
  stored: StoredAttributes,
  update: Readonly<Record<string, AttributeValue>>,
  at: number,
  path = 'attributes',
): StoredAttributes {
  const merged: StoredAttributes = { values: { ...stored.values }, times: { ...stored.times } };
  for (const [key, value] of Object.entries(update)) {
    const storedAt = stored.times[key];
    if (storedAt !== undefined && storedAt > at) continue;
    merged.values[key] = value;
    merged.times[key] = at;
  }
  const keys = Object.keys(merged.values).length;
  const bytes = totalBytes(merged.values);
  const grows = keys > Object.keys(stored.values).length || bytes > totalBytes(stored.values);
  if (grows && (keys > MAX_COMPANY_ATTRIBUTES || bytes > MAX_COMPANY_ATTRIBUTE_BYTES)) {
    const message =
      `a company keeps at most ${MAX_COMPANY_ATTRIBUTES} attributes and ${MAX_COMPANY_ATTRIBUTE_BYTES} bytes of them; ` +
      `with this update company "${companyId}" would have ${keys} attributes and ${bytes} bytes. ` +
      'Send fewer or shorter attributes, or update keys it already has.';
    throw new ValidationError(`Too many company attributes: ${message}`, [{ path, message }]);
  }
  return merged;
}

/** True when the merge changed no value and no time (a repeated or older update). */
export const changesNothing = (stored: StoredAttributes, merged: StoredAttributes): boolean =>
  Object.keys(merged.times).every(
    (key) => merged.times[key] === stored.times[key] && merged.values[key] === stored.values[key],
  );
