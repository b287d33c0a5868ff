/**
 * The endpoint guard against server-side request forgery. Host names resolve through an injected
 * resolver: no network.
 */
import type { LookupAddress } from 'node:dns';
import { assertAllowedEndpoint, guardedLookup, type ResolveHost } from '../../lambdas/adapters/s3/endpoint-guard';
import { EndpointUnreachableError, ForbiddenEndpointError } from '../../lambdas/core/destination';

/** A resolver answering from a fixed table; other names fail as getaddrinfo does. */
const resolverOf =
  (table: Record<string, string[]>): ResolveHost =>
  async (host) => {
    if (table[host]) return table[host];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };

const PRIVATE_REFUSAL =
  'The endpoint must be a public https URL; half-internal.example.com resolves to a private address (192.168.1.20).';

const resolve = resolverOf({
  'storage.example.com': ['203.0.113.10', '2001:db8::10'],
  'internal.example.com': ['10.0.0.5'],
  'half-internal.example.com': ['203.0.113.10', '192.168.1.20'],
  'metadata.example.com': ['169.254.169.254'],
  'mapped.example.com': ['::ffff:10.1.2.3'],
  'mapped-hex.example.com': ['::ffff:a01:203'],
  'nat64.example.com': ['64:ff9b::a9fe:a9fe'],
  'look-alike.example.com': ['2606:4700::ffff:a01:203', '2606:4700:0:1:0:ffff:7f00:1'],
  'empty.example.com': [],
  localhost: ['127.0.0.1', '::1'],
});

async function refusal(endpoint: string, options: Parameters<typeof assertAllowedEndpoint>[1] = {}) {
  const error = await assertAllowedEndpoint(endpoint, { resolve, ...options }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ForbiddenEndpointError);
  return (error as ForbiddenEndpointError).message;
}

describe('assertAllowedEndpoint', () => {
  it('accepts a public https URL, with a port and a path', async () => {
    await expect(assertAllowedEndpoint('https://storage.example.com', { resolve })).resolves.toBeUndefined();
    await expect(assertAllowedEndpoint('https://storage.example.com:8443/s3', { resolve })).resolves.toBeUndefined();
    await expect(assertAllowedEndpoint('https://203.0.113.10', { resolve })).resolves.toBeUndefined();
  });

  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.254.0.1', 'a loopback address'],
    ['[::1]', 'a loopback address'],
    ['[::ffff:127.0.0.1]', 'a loopback address'],
    ['10.0.0.5', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.254', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['[fd00::1]', 'a private address'],
    ['[fc00::1]', 'a private address'],
    ['[::ffff:10.0.0.5]', 'a private address'],
    ['169.254.169.254', 'a link-local address'],
    ['169.254.1.1', 'a link-local address'],
    ['[fe80::1]', 'a link-local address'],
    ['[::ffff:169.254.169.254]', 'a link-local address'],
    ['[64:ff9b::a9fe:a9fe]', 'a link-local address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['100.127.255.254', 'a carrier-grade NAT address'],
    ['0.0.0.0', 'an unspecified address'],
    ['[::]', 'an unspecified address'],
    ['224.0.0.1', 'a multicast address'],
    ['[ff02::1]', 'a multicast address'],
    ['255.255.255.255', 'a reserved address'],
  ])('refuses the IP literal %s as %s', async (host, description) => {
    const message = await refusal(`https://${host}/`);
    expect(message.startsWith('The endpoint must be a public https URL; ')).toBe(true);
    expect(message.endsWith(` is ${description}.`)).toBe(true);
  });

  it.each(['https://2130706433/', 'https://0x7f.1/', 'https://127.1/'])(
    'refuses the loopback address spelled %s',
    async (endpoint) => {
      expect(await refusal(endpoint)).toBe('The endpoint must be a public https URL; 127.0.0.1 is a loopback address.');
    },
  );

  it.each(['172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.255.0.1', '[::ffff:8.8.8.8]'])(
    'accepts %s, a public address next to a forbidden range',
    async (host) => {
      await expect(assertAllowedEndpoint(`https://${host}`, { resolve })).resolves.toBeUndefined();
    },
  );

  it('refuses a host name that resolves to a private address, naming it', async () => {
    expect(await refusal('https://internal.example.com')).toBe(
      'The endpoint must be a public https URL; internal.example.com resolves to a private address (10.0.0.5).',
    );
  });

  it('refuses a host name when any one of its addresses is forbidden', async () => {
    expect(await refusal('https://half-internal.example.com')).toBe(PRIVATE_REFUSAL);
    expect(await refusal('https://metadata.example.com')).toMatch('resolves to a link-local address (169.254.169.254)');
    expect(await refusal('https://mapped.example.com')).toMatch('resolves to a private address (::ffff:10.1.2.3)');
  });

  it('allows loopback only with allowLoopback, and nothing else private with it', async () => {
    expect(await refusal('https://localhost:9000')).toBe(
      'The endpoint must be a public https URL; localhost resolves to a loopback address (127.0.0.1).',
    );
    for (const endpoint of ['https://localhost:9000', 'https://127.0.0.1:9000', 'https://[::1]:9000']) {
      await expect(assertAllowedEndpoint(endpoint, { resolve, allowLoopback: true })).resolves.toBeUndefined();
    }
    expect(await refusal('https://10.0.0.5', { allowLoopback: true })).toMatch('is a private address');
    expect(await refusal('https://169.254.169.254', { allowLoopback: true })).toMatch('is a link-local address');
  });

  it('refuses http unless allowHttp, and other schemes always', async () => {
    const endpoint = 'http://storage.example.com';
    expect(await refusal(endpoint)).toBe('The endpoint must be a public https URL; http is not allowed.');
    await expect(assertAllowedEndpoint(endpoint, { resolve, allowHttp: true })).resolves.toBeUndefined();
    expect(await refusal('ftp://storage.example.com', { allowHttp: true })).toMatch('ftp is not allowed');
    expect(await refusal('file:///etc/passwd', { allowHttp: true })).toMatch('file is not allowed');
  });

  it('refuses what is not a URL, credentials, queries and fragments', async () => {
    expect(await refusal('storage.example.com')).toBe(
      'The endpoint must be a public https URL; "storage.example.com" is not a valid URL.',
    );
    expect(await refusal('')).toMatch('is not a valid URL');
    for (const endpoint of ['https://user:secret@storage.example.com', 'https://user@storage.example.com']) {
      expect(await refusal(endpoint)).toMatch('must not contain a user name or password');
    }
    for (const suffix of ['/?x-id=1', '/?', '/#top']) {
      const message = await refusal(`https://storage.example.com${suffix}`);
      expect(message).toMatch('must not contain a query (?) or fragment (#)');
    }
  });

  it('answers EndpointUnreachableError when the host name does not resolve, the resolver error as cause', async () => {
    const error = await assertAllowedEndpoint('https://nowhere.example.com', { resolve }).catch((thrown: Error) => {
      return thrown;
    });

    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect((error as Error).message).toMatch('https://nowhere.example.com could not be reached');
    expect((error as Error).message).not.toMatch('ENOTFOUND');
    expect((error as Error).cause).toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('assertAllowedEndpoint: IPv6 addresses that stand for IPv4 ones', () => {
  it.each([
    ['mapped-hex.example.com', 'a private address (::ffff:a01:203)'],
    ['nat64.example.com', 'a link-local address (64:ff9b::a9fe:a9fe)'],
  ])('refuses %s, which resolves to %s', async (host, description) => {
    expect(await refusal(`https://${host}`)).toBe(
      `The endpoint must be a public https URL; ${host} resolves to ${description}.`,
    );
  });

  it.each(['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:a9fe:a9fe]'])(
    'refuses the literal %s',
    async (host) => {
      expect(await refusal(`https://${host}`)).toMatch(/is a (loopback|link-local) address\.$/);
    },
  );

  it.each(['65:ff9b::a9fe:a9fe', '64:ff9c::a9fe:a9fe', '64:ff9b::1:a9fe:a9fe', '64:ff9b:0:0:1::a9fe:a9fe'])(
    'allows %s, outside the NAT64 prefix 64:ff9b::/96',
    async (address) => {
      await expect(assertAllowedEndpoint(`https://[${address}]`)).resolves.toBeUndefined();
    },
  );

  it('allows https as well as http when http is allowed', async () => {
    await expect(
      assertAllowedEndpoint('https://storage.example.com', { resolve, allowHttp: true }),
    ).resolves.toBeUndefined();
    await expect(
      assertAllowedEndpoint('http://storage.example.com', { resolve, allowHttp: true }),
    ).resolves.toBeUndefined();
  });

  it('allows a public IPv6 address whose last groups merely look like a private IPv4 address', async () => {
    await expect(assertAllowedEndpoint('https://look-alike.example.com', { resolve })).resolves.toBeUndefined();
    await expect(assertAllowedEndpoint('https://[2606:4700::ffff:a01:203]')).resolves.toBeUndefined();
  });

  it('an empty DNS answer is unreachable, not allowed', async () => {
    const error = await assertAllowedEndpoint('https://empty.example.com', { resolve }).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect((error as Error).message).toMatch('https://empty.example.com could not be reached');
  });
});

describe('guardedLookup', () => {
  /** Runs the lookup as an http.Agent would; resolves with what it calls back with. */
  function lookUp(host: string, options: { all?: boolean; family?: number | string }, allowLoopback = false) {
    return new Promise<{ error: Error | null; address: string | LookupAddress[]; family?: number }>((done) => {
      const lookup = guardedLookup({ resolve, allowLoopback });
      lookup(host, options as { all?: boolean; family?: number }, (error, address, family) =>
        done({ error, address, family }),
      );
    });
  }

  it('hands back every address when asked for all, or the first one', async () => {
    expect(await lookUp('storage.example.com', { all: true })).toEqual({
      error: null,
      address: [
        { address: '203.0.113.10', family: 4 },
        { address: '2001:db8::10', family: 6 },
      ],
      family: undefined,
    });
    expect(await lookUp('storage.example.com', {})).toEqual({ error: null, address: '203.0.113.10', family: 4 });
    expect(await lookUp('storage.example.com', { family: 6 })).toEqual({
      error: null,
      address: '2001:db8::10',
      family: 6,
    });
  });

  it('fails the connection with ForbiddenEndpointError when an address is not public', async () => {
    const { error } = await lookUp('half-internal.example.com', { all: true });

    expect(error).toBeInstanceOf(ForbiddenEndpointError);
    expect(error?.message).toBe(PRIVATE_REFUSAL);
  });

  it('lets loopback through only with allowLoopback', async () => {
    expect((await lookUp('localhost', { all: true })).error).toBeInstanceOf(ForbiddenEndpointError);
    expect((await lookUp('localhost', { all: true }, true)).error).toBeNull();
  });

  it('passes resolution errors through unchanged', async () => {
    expect((await lookUp('nowhere.example.com', { all: true })).error).toMatchObject({ code: 'ENOTFOUND' });
  });

  it("reads the family as a number or as Node's 'IPv4' / 'IPv6'", async () => {
    expect(await lookUp('storage.example.com', { family: 'IPv4' })).toEqual({
      error: null,
      address: '203.0.113.10',
      family: 4,
    });
    expect(await lookUp('storage.example.com', { family: 'IPv6' })).toEqual({
      error: null,
      address: '2001:db8::10',
      family: 6,
    });
    expect(await lookUp('storage.example.com', { family: 4, all: true })).toEqual({
      error: null,
      address: [{ address: '203.0.113.10', family: 4 }],
      family: undefined,
    });
  });

  it('answers ENOTFOUND when no address of the wanted family, or none at all, is known', async () => {
    expect((await lookUp('look-alike.example.com', { family: 'IPv4' })).error).toMatchObject({
      code: 'ENOTFOUND',
      message: 'getaddrinfo ENOTFOUND look-alike.example.com',
    });
    expect((await lookUp('empty.example.com', { all: true })).error).toMatchObject({ code: 'ENOTFOUND' });
  });
});
