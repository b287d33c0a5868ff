/** Request bodies as every entry point hands them to the routes: at most 1 MB of valid UTF-8. */
import { ValidationError } from '../core/errors';
import { MAX_BODY_BYTES } from '../core/limits';
import { PayloadTooLargeError } from './errors';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The body's text; undefined when there is none. */
export function decodeBody(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined || bytes.byteLength === 0) return undefined;
  if (bytes.byteLength > MAX_BODY_BYTES) throw new PayloadTooLargeError(bytes.byteLength);
  try {
    return strictUtf8.decode(bytes);
  } catch (error) {
    throw new ValidationError('The request body is not valid UTF-8; send JSON encoded as UTF-8.', [], { cause: error });
  }
}

/** A body that arrived as text (API Gateway decodes it unless it is binary): only its size to check. */
export function checkBodyText(text: string | undefined): string | undefined {
  if (text !== undefined && text.length > 0) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_BODY_BYTES) throw new PayloadTooLargeError(bytes);
  }
  return text;
}
