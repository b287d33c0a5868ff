/**
 * Seals customer secrets with a KMS key. The encryption context binds each secret to its environment
 * and purpose: KMS refuses to decrypt it under any other context, so a sealed value copied to another
 * environment's settings is useless there.
 */
import {
  DecryptCommand,
  DisabledException,
  EncryptCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSInvalidStateException,
  NotFoundException,
  type DecryptCommandOutput,
  type KMSClient,
} from '@aws-sdk/client-kms';
import type { SecretSealer } from '../../ports';
import { SealingKeyUnavailableError, SecretUnsealError } from '../sealing-errors';

/** Names the scheme, so sealed values can be told apart (and migrated) when it changes. */
const VERSION_TAG = 'kms:v1:';
const PURPOSE = 'destination-secret';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** KMS answered Encrypt without a ciphertext. */
export class SecretSealError extends Error {
  override readonly name = 'SecretSealError';
}

export class KmsSecretSealer implements SecretSealer {
  private readonly client: KMSClient;
  private readonly keyId: string;

  constructor(options: { client: KMSClient; keyId: string }) {
    this.client = options.client;
    this.keyId = options.keyId;
  }

  async seal(plaintext: string, context: { environmentId: string }): Promise<string> {
    const response = await this.client
      .send(
        new EncryptCommand({
          KeyId: this.keyId,
          Plaintext: Buffer.from(plaintext, 'utf8'),
          EncryptionContext: encryptionContext(context.environmentId),
        }),
      )
      .catch((error: unknown) => {
        throw keyUnavailable(error) ?? error;
      });
    if (!response.CiphertextBlob)
      throw new SecretSealError(`KMS returned no ciphertext for environment ${context.environmentId}.`);
    return VERSION_TAG + Buffer.from(response.CiphertextBlob).toString('base64');
  }

  /**
   * Fails with SecretUnsealError when the value is not ours or belongs to another environment, with
   * SealingKeyUnavailableError when the key may not be used (both internal failures, never retried);
   * other KMS failures (throttling, KMS errors) propagate unchanged and count as transient.
   */
  async unseal(sealed: string, context: { environmentId: string }): Promise<string> {
    const encoded = sealed.startsWith(VERSION_TAG) ? sealed.slice(VERSION_TAG.length) : undefined;
    if (encoded === undefined || !BASE64.test(encoded)) {
      throw new SecretUnsealError(
        `The sealed secret of environment ${context.environmentId} is not a ${VERSION_TAG} value.`,
      );
    }
    let response: DecryptCommandOutput;
    try {
      response = await this.client.send(
        new DecryptCommand({
          KeyId: this.keyId,
          CiphertextBlob: Buffer.from(encoded, 'base64'),
          EncryptionContext: encryptionContext(context.environmentId),
        }),
      );
    } catch (error) {
      if (error instanceof InvalidCiphertextException || error instanceof IncorrectKeyException) {
        throw new SecretUnsealError(`KMS refused the sealed secret of environment ${context.environmentId}.`, {
          cause: error,
        });
      }
      throw keyUnavailable(error) ?? error;
    }
    if (!response.Plaintext)
      throw new SecretUnsealError(`KMS returned no plaintext for environment ${context.environmentId}.`);
    return Buffer.from(response.Plaintext).toString('utf8');
  }
}

/** A key this function may not use (IAM or key policy), disabled, pending deletion or gone: no retry helps. */
function keyUnavailable(error: unknown): SealingKeyUnavailableError | undefined {
  const persistent =
    error instanceof DisabledException ||
    error instanceof KMSInvalidStateException ||
    error instanceof NotFoundException ||
    (error instanceof Error && error.name === 'AccessDeniedException');
  return persistent
    ? new SealingKeyUnavailableError(`The sealing key may not be used (${(error as Error).name}).`, { cause: error })
    : undefined;
}

const encryptionContext = (environmentId: string): Record<string, string> => ({ environmentId, purpose: PURPOSE });
