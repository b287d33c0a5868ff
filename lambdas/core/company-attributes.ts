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

/** True when storing the update changes nothing (a repeated identify call). */
export const changesNothing = (
  stored: Readonly<Record<string, AttributeValue>>,
  update: Readonly<Record<string, AttributeValue>>,
): boolean => Object.entries(update).every(([key, value]) => Object.hasOwn(stored, key) && stored[key] === value);

/**
 * The stored attributes with the update merged in, key by key. Fails with a ValidationError on `path`
 * when the result would hold more than MAX_COMPANY_ATTRIBUTES keys or MAX_COMPANY_ATTRIBUTE_BYTES.
 */
export function mergeCompanyAttributes(
  companyId: string,
  stored: Readonly<Record<string, AttributeValue>>,
  update: Readonly<Record<string, AttributeValue>>,
  path = 'attributes',
): Record<string, AttributeValue> {
  const merged = { ...stored, ...update };
  const entries = Object.entries(merged);
  const bytes = totalBytes(merged);
  // An update that does not grow the attributes is kept even above the bound (stored before it existed).
  const grows = entries.length > Object.keys(stored).length || bytes > totalBytes(stored);
  if (grows && (entries.length > MAX_COMPANY_ATTRIBUTES || bytes > MAX_COMPANY_ATTRIBUTE_BYTES)) {
    const message =
      `a company keeps at most ${MAX_COMPANY_ATTRIBUTES} attributes and ${MAX_COMPANY_ATTRIBUTE_BYTES} bytes of them; ` +
      `with this update company "${companyId}" would have ${entries.length} attributes and ${bytes} bytes. ` +
      'Send fewer or shorter attributes, or update keys it already has.';
    throw new ValidationError(`Too many company attributes: ${message}`, [{ path, message }]);
  }
  return merged;
}
