import { randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  EncryptCommand,
  InvalidCiphertextException,
  KMSClient,
  DependencyTimeoutException,
  DisabledException,
  KMSInvalidStateException,
  NotFoundException,
  type DecryptCommandInput,
  type EncryptCommandInput,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { KmsSecretSealer } from '../../lambdas/adapters/kms/kms-sealer';
import { SealingKeyUnavailableError, SecretUnsealError } from '../../lambdas/adapters/sealing-errors';
import { InternalFailureError } from '../../lambdas/core/errors';

const KEY_ID = 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const ENV_A = { environmentId: 'env_0123456789abcdef0123' };
const ENV_B = { environmentId: 'env_fedcba9876543210fedc' };

const kms = mockClient(KMSClient);
const sealer = new KmsSecretSealer({ client: new KMSClient({}), keyId: KEY_ID });

const sameContext = (a: Record<string, string> = {}, b: Record<string, string> = {}): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * A fake KMS: the ciphertext is an opaque random handle to what was encrypted, and decryption echoes
 * the plaintext back only under the key and context it was encrypted with, as KMS does.
 */
function fakeKms(): void {
  const encrypted = new Map<string, EncryptCommandInput>();
  kms.on(EncryptCommand).callsFake(async (input: EncryptCommandInput) => {
    const handle = randomBytes(48);
    encrypted.set(handle.toString('hex'), input);
    return { CiphertextBlob: new Uint8Array(handle), KeyId: input.KeyId };
  });
  kms.on(DecryptCommand).callsFake(async (input: DecryptCommandInput) => {
    const original = encrypted.get(Buffer.from(input.CiphertextBlob ?? []).toString('hex'));
    if (
      !original ||
      original.KeyId !== input.KeyId ||
      !sameContext(original.EncryptionContext, input.EncryptionContext)
    ) {
      throw new InvalidCiphertextException({ $metadata: { httpStatusCode: 400 }, message: 'Invalid ciphertext' });
    }
    return { Plaintext: original.Plaintext, KeyId: input.KeyId };
  });
}

beforeEach(() => {
  kms.reset();
  fakeKms();
});

afterAll(() => {
  kms.restore();
});

describe('KmsSecretSealer', () => {
  it('encrypts under the key with the environment and purpose as encryption context', async () => {
    await sealer.seal(SECRET, ENV_A);

    const calls = kms.commandCalls(EncryptCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input.KeyId).toBe(KEY_ID);
    expect(input.EncryptionContext).toEqual({ environmentId: ENV_A.environmentId, purpose: 'destination-secret' });
    expect(Buffer.from(input.Plaintext as Uint8Array).toString('utf8')).toBe(SECRET);
  });

  it('seals to a versioned base64 value that does not contain the plaintext', async () => {
    const sealed = await sealer.seal(SECRET, ENV_A);

    expect(sealed).toMatch(/^kms:v1:[A-Za-z0-9+/]+={0,2}$/);
    expect(sealed).not.toContain(SECRET);
    expect(sealed).not.toContain(Buffer.from(SECRET).toString('base64'));
  });

  it('unseals what it sealed, decrypting with the same key and context', async () => {
    const sealed = await sealer.seal(SECRET, ENV_A);

    await expect(sealer.unseal(sealed, ENV_A)).resolves.toBe(SECRET);
    const input = kms.commandCalls(DecryptCommand)[0].args[0].input;
    expect(input.KeyId).toBe(KEY_ID);
    expect(input.EncryptionContext).toEqual({ environmentId: ENV_A.environmentId, purpose: 'destination-secret' });
  });

  it('round-trips secrets beyond ASCII', async () => {
    const secret = 'clé/秘密+🔑';
    await expect(sealer.unseal(await sealer.seal(secret, ENV_A), ENV_A)).resolves.toBe(secret);
  });

  it('refuses a secret sealed for another environment with a SecretUnsealError keeping the cause', async () => {
    const sealed = await sealer.seal(SECRET, ENV_A);

    const unsealing = sealer.unseal(sealed, ENV_B);

    await expect(unsealing).rejects.toBeInstanceOf(SecretUnsealError);
    await expect(unsealing).rejects.toMatchObject({
      name: 'SecretUnsealError',
      cause: expect.any(InvalidCiphertextException),
    });
  });

  it.each([
    ['another version tag', (sealed: string) => sealed.replace('kms:v1:', 'kms:v2:')],
    ['the local scheme', (sealed: string) => sealed.replace('kms:v1:', 'local:v1:')],
    ['no tag', (sealed: string) => sealed.slice('kms:v1:'.length)],
    ['a body that is not base64', () => 'kms:v1:not base64!'],
    ['an empty body', () => 'kms:v1:'],
  ])('rejects %s without calling KMS', async (_case, alter) => {
    const sealed = alter(await sealer.seal(SECRET, ENV_A));

    await expect(sealer.unseal(sealed, ENV_A)).rejects.toBeInstanceOf(SecretUnsealError);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);
  });

  it('lets failures other than a refused ciphertext propagate unchanged', async () => {
    const sealed = await sealer.seal(SECRET, ENV_A);
    const timeout = new DependencyTimeoutException({ $metadata: { httpStatusCode: 503 }, message: 'Timed out' });
    kms.on(DecryptCommand).rejects(timeout);

    await expect(sealer.unseal(sealed, ENV_A)).rejects.toBe(timeout);
  });

  it.each([
    [
      'access denied (IAM or key policy)',
      () =>
        Object.assign(new Error('User is not authorized to perform kms:Decrypt'), { name: 'AccessDeniedException' }),
    ],
    ['a disabled key', () => new DisabledException({ $metadata: { httpStatusCode: 400 }, message: 'disabled' })],
    [
      'a key pending deletion',
      () => new KMSInvalidStateException({ $metadata: { httpStatusCode: 400 }, message: 'pending deletion' }),
    ],
    ['a deleted key', () => new NotFoundException({ $metadata: { httpStatusCode: 400 }, message: 'not found' })],
  ])('turns %s into SealingKeyUnavailableError, an internal failure, on unseal and on seal', async (_name, failure) => {
    const sealed = await sealer.seal(SECRET, ENV_A);
    const cause = failure();
    kms.on(DecryptCommand).rejects(cause);
    kms.on(EncryptCommand).rejects(cause);

    const unsealing = sealer.unseal(sealed, ENV_A);
    await expect(unsealing).rejects.toBeInstanceOf(SealingKeyUnavailableError);
    await expect(unsealing).rejects.toBeInstanceOf(InternalFailureError);
    await expect(unsealing).rejects.toMatchObject({ cause });
    await expect(sealer.seal(SECRET, ENV_A)).rejects.toBeInstanceOf(SealingKeyUnavailableError);
  });
});
