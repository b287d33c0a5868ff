import { ConfigurationError } from '../../lambdas/config';
import { LocalSecretSealer } from '../../lambdas/adapters/local/local-sealer';
import { SecretUnsealError } from '../../lambdas/adapters/sealing-errors';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const ENV_A = { environmentId: 'env_0123456789abcdef0123' };
const ENV_B = { environmentId: 'env_fedcba9876543210fedc' };
const TAG = 'local:v1:';

const sealer = new LocalSecretSealer(LocalSecretSealer.generateKey());

/** The sealed value with one bit of its decoded payload flipped at `index` (iv 0-11, tag 12-27, then ciphertext). */
function flipBit(sealed: string, index: number): string {
  const bytes = Buffer.from(sealed.slice(TAG.length), 'base64url');
  bytes[index] ^= 1;
  return TAG + bytes.toString('base64url');
}

describe('LocalSecretSealer', () => {
  it('round-trips a secret for its environment', async () => {
    const sealed = await sealer.seal(SECRET, ENV_A);

    await expect(sealer.unseal(sealed, ENV_A)).resolves.toBe(SECRET);
  });

  it('round-trips secrets beyond ASCII, and the empty string', async () => {
    for (const secret of ['clé/秘密+🔑', '']) {
      await expect(sealer.unseal(await sealer.seal(secret, ENV_A), ENV_A)).resolves.toBe(secret);
    }
  });

  it('seals to local:v1:<base64url(iv|tag|ciphertext)> without the plaintext', async () => {
    const sealed = await sealer.seal(SECRET, ENV_A);

    expect(sealed).toMatch(/^local:v1:[A-Za-z0-9_-]+$/);
    expect(Buffer.from(sealed.slice(TAG.length), 'base64url')).toHaveLength(12 + 16 + Buffer.byteLength(SECRET));
    expect(sealed).not.toContain(SECRET);
  });

  it('uses a fresh IV each time: the same secret seals differently', async () => {
    const [first, second] = await Promise.all([sealer.seal(SECRET, ENV_A), sealer.seal(SECRET, ENV_A)]);

    expect(first).not.toBe(second);
    expect(first.slice(0, TAG.length + 16)).not.toBe(second.slice(0, TAG.length + 16));
  });

  it('refuses to unseal for another environment', async () => {
    const sealed = await sealer.seal(SECRET, ENV_A);

    const unsealing = sealer.unseal(sealed, ENV_B);

    await expect(unsealing).rejects.toBeInstanceOf(SecretUnsealError);
    // The cause is node's own authentication failure (an Error of another realm than jest's sandbox).
    await expect(unsealing).rejects.toMatchObject({
      name: 'SecretUnsealError',
      cause: expect.objectContaining({ message: expect.stringMatching(/unable to authenticate/) }),
    });
  });

  it('refuses a value sealed under another key', async () => {
    const sealed = await new LocalSecretSealer(LocalSecretSealer.generateKey()).seal(SECRET, ENV_A);

    await expect(sealer.unseal(sealed, ENV_A)).rejects.toBeInstanceOf(SecretUnsealError);
  });

  it.each([
    ['the IV', 0],
    ['the tag', 12],
    ['the ciphertext', 28],
  ])('refuses a value whose %s was tampered with', async (_part, index) => {
    const sealed = await sealer.seal(SECRET, ENV_A);

    await expect(sealer.unseal(flipBit(sealed, index), ENV_A)).rejects.toBeInstanceOf(SecretUnsealError);
  });

  it.each([
    ['the KMS scheme', async () => `kms:v1:${Buffer.from('opaque').toString('base64')}`],
    ['another version tag', async () => (await sealer.seal(SECRET, ENV_A)).replace(TAG, 'local:v2:')],
    ['a truncated value', async () => (await sealer.seal(SECRET, ENV_A)).slice(0, TAG.length + 20)],
    ['a body that is not base64url', async () => `${TAG}not base64url!`],
    ['an empty body', async () => TAG],
  ])('refuses %s', async (_case, makeSealed) => {
    await expect(sealer.unseal(await makeSealed(), ENV_A)).rejects.toBeInstanceOf(SecretUnsealError);
  });

  it.each([
    ['too short', Buffer.alloc(16).toString('base64url')],
    ['too long', Buffer.alloc(33).toString('base64url')],
    ['not base64url', '!'.repeat(43)],
    ['empty', ''],
  ])('rejects a key that is %s', (_case, key) => {
    expect(() => new LocalSecretSealer(key)).toThrow(ConfigurationError);
  });

  it('generates 32-byte base64url keys', () => {
    const key = LocalSecretSealer.generateKey();

    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
  });
});
