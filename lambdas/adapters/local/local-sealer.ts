/**
 * Local mode's stand-in for KMS: AES-256-GCM under a key from local configuration. The environment id
 * is authenticated data, so a secret opens only for the environment it was sealed for, as with KMS's
 * encryption context.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigurationError } from '../../config';
import type { SecretSealer } from '../../ports';
import { SecretUnsealError } from '../sealing-errors';

const VERSION_TAG = 'local:v1:';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export class LocalSecretSealer implements SecretSealer {
  private readonly key: Buffer;

  /** `key`: 32 random bytes, base64url-encoded (see `generateKey`). */
  constructor(key: string) {
    const decoded = BASE64URL.test(key) ? Buffer.from(key, 'base64url') : Buffer.alloc(0);
    if (decoded.length !== KEY_BYTES) {
      throw new ConfigurationError(
        `Invalid configuration: the local sealing key must be ${KEY_BYTES} bytes, base64url-encoded.`,
      );
    }
    this.key = decoded;
  }

  /** A new key, for a local installation's first start. */
  static generateKey(): string {
    return randomBytes(KEY_BYTES).toString('base64url');
  }

  async seal(plaintext: string, context: { environmentId: string }): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv);
    cipher.setAAD(Buffer.from(context.environmentId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return VERSION_TAG + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
  }

  async unseal(sealed: string, context: { environmentId: string }): Promise<string> {
    const failure = `The sealed secret of environment ${context.environmentId} cannot be opened`;
    const encoded = sealed.startsWith(VERSION_TAG) ? sealed.slice(VERSION_TAG.length) : '';
    const bytes = BASE64URL.test(encoded) ? Buffer.from(encoded, 'base64url') : Buffer.alloc(0);
    if (bytes.length < IV_BYTES + TAG_BYTES)
      throw new SecretUnsealError(`${failure}: it is not a ${VERSION_TAG} value.`);
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context.environmentId, 'utf8'));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SecretUnsealError(
        `${failure}: it was tampered with, sealed with another key or for another environment.`,
        {
          cause: error,
        },
      );
    }
  }
}
