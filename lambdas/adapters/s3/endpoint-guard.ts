/**
 * Protection against server-side request forgery through `Custom` endpoints: the service connects to
 * whatever URL a customer enters, from inside AWS, so an endpoint must be a public https URL and must
 * not reach loopback, private, link-local (the 169.254.169.254 instance metadata service among them)
 * or other non-public addresses.
 *
 * Two checks, because a name may resolve differently at each lookup:
 * - assertAllowedEndpoint, before a destination is used: the URL's shape, and every address its host
 *   resolves to, with a message for the customer;
 * - guardedLookup, the lookup of the HTTP agents that connect to the endpoint: it checks the addresses
 *   of each connection actually made, so a name that turns private after the first check (DNS
 *   rebinding) is refused too. IP literals skip lookups altogether: assertAllowedEndpoint covers them.
 * What remains: the check trusts the resolver the Lambda uses, and holds because the SDK follows no
 * redirects (a connection only ever goes to the endpoint's own host).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { EndpointUnreachableError, ForbiddenEndpointError } from '../../core/destination';

/** Every address a host name resolves to. */
export type ResolveHost = (host: string) => Promise<string[]>;

export interface EndpointGuardOptions {
  /** Local mode only: s3rver listens on 127.0.0.1. */
  allowLoopback?: boolean;
  /** Local mode only: s3rver speaks plain http. */
  allowHttp?: boolean;
  /** node:dns lookup by default; injectable for tests. */
  resolve?: ResolveHost;
}

const REQUIREMENT = 'The endpoint must be a public https URL';
const LOOPBACK = 'a loopback address';

const resolveWithDns: ResolveHost = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map(({ address }) => address);

/** The non-public address ranges, each with how the customer message names it. */
const FORBIDDEN_RANGES: { description: string; ranges: [network: string, prefix: number][] }[] = [
  {
    description: LOOPBACK,
    ranges: [
      ['127.0.0.0', 8],
      ['::1', 128],
    ],
  },
  {
    description: 'a private address',
    ranges: [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['fc00::', 7],
    ],
  },
  {
    description: 'a link-local address',
    ranges: [
      ['169.254.0.0', 16],
      ['fe80::', 10],
    ],
  },
  { description: 'a carrier-grade NAT address', ranges: [['100.64.0.0', 10]] },
  {
    description: 'an unspecified address',
    ranges: [
      ['0.0.0.0', 8],
      ['::', 128],
    ],
  },
  {
    description: 'a multicast address',
    ranges: [
      ['224.0.0.0', 4],
      ['ff00::', 8],
    ],
  },
  { description: 'a reserved address', ranges: [['240.0.0.0', 4]] },
];

const FORBIDDEN_LISTS = FORBIDDEN_RANGES.map(({ description, ranges }) => {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, isIP(network) === 4 ? 'ipv4' : 'ipv6');
  return { description, list };
});

/**
 * Throws ForbiddenEndpointError unless the endpoint is an https URL (http too with allowHttp) without
 * credentials, query or fragment whose host resolves only to public addresses (loopback too with
 * allowLoopback); EndpointUnreachableError when the host does not resolve.
 */
export async function assertAllowedEndpoint(endpoint: string, options: EndpointGuardOptions = {}): Promise<void> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ForbiddenEndpointError(`${REQUIREMENT}; "${endpoint}" is not a valid URL.`);
  }
  const allowedProtocols = options.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!allowedProtocols.includes(url.protocol)) {
    throw new ForbiddenEndpointError(`${REQUIREMENT}; ${url.protocol.slice(0, -1)} is not allowed.`);
  }
  if (url.username || url.password) {
    throw new ForbiddenEndpointError(`${REQUIREMENT}; it must not contain a user name or password.`);
  }
  if (/[?#]/.test(url.href)) {
    throw new ForbiddenEndpointError(`${REQUIREMENT}; it must not contain a query (?) or fragment (#).`);
  }

  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) {
    const description = forbiddenDescription(host, options.allowLoopback);
    if (description) throw new ForbiddenEndpointError(`${REQUIREMENT}; ${host} is ${description}.`);
    return;
  }
  let addresses: string[];
  try {
    addresses = await (options.resolve ?? resolveWithDns)(host);
  } catch (error) {
    throw new EndpointUnreachableError(endpoint, { cause: error });
  }
  if (addresses.length === 0) throw new EndpointUnreachableError(endpoint);
  const refusal = refusalOf(host, addresses, options.allowLoopback);
  if (refusal) throw refusal;
}

/**
 * A lookup for http(s).Agent that resolves like dns.lookup and fails the connection with
 * ForbiddenEndpointError when any address is not public. Resolution errors pass through unchanged.
 */
export function guardedLookup(options: Pick<EndpointGuardOptions, 'allowLoopback' | 'resolve'> = {}): LookupFunction {
  const resolve = options.resolve ?? resolveWithDns;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (resolved) => {
        const refusal = refusalOf(hostname, resolved, options.allowLoopback);
        if (refusal) return callback(refusal, '', 0);
        const wanted = { IPv4: 4, IPv6: 6 }[String(lookupOptions.family)] ?? lookupOptions.family;
        const addresses = resolved
          .map((address) => ({ address, family: isIP(address) }))
          .filter(({ family }) => !wanted || family === wanted);
        if (addresses.length === 0) {
          return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        }
        if (lookupOptions.all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

function refusalOf(
  host: string,
  addresses: string[],
  allowLoopback: boolean | undefined,
): ForbiddenEndpointError | undefined {
  for (const address of addresses) {
    const description = forbiddenDescription(address, allowLoopback);
    if (description) {
      return new ForbiddenEndpointError(`${REQUIREMENT}; ${host} resolves to ${description} (${address}).`);
    }
  }
  return undefined;
}

/** How the customer message names the address's range, or undefined when the address may be reached. */
function forbiddenDescription(address: string, allowLoopback: boolean | undefined): string | undefined {
  const ipv4 = isIP(address) === 4 ? address : embeddedIPv4(address);
  const forbidden = FORBIDDEN_LISTS.find(({ list }) => (ipv4 ? list.check(ipv4, 'ipv4') : list.check(address, 'ipv6')));
  if (!forbidden || (forbidden.description === LOOPBACK && allowLoopback)) return undefined;
  return forbidden.description;
}

/**
 * The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96,
 * which a NAT64 gateway, e.g. in an IPv6-only VPC subnet, forwards to the embedded IPv4 address).
 */
function embeddedIPv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0);
  if (!mapped && !nat64) return undefined;
  return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
}

/** The eight 16-bit groups of a valid IPv6 address (zone index ignored). */
function ipv6Groups(address: string): number[] {
  const toGroups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((piece) => {
          if (!piece.includes('.')) return [parseInt(piece, 16)];
          const [a, b, c, d] = piece.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = address.split('%')[0].split('::');
  const headGroups = toGroups(head);
  if (tail === undefined) return headGroups;
  const tailGroups = toGroups(tail);
  return [...headGroups, ...new Array<number>(8 - headGroups.length - tailGroups.length).fill(0), ...tailGroups];
}
