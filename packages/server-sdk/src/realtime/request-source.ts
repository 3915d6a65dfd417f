import { isIP } from 'node:net';

/** The parts of an upgrade request (a node:http `IncomingMessage`) a source is read from. */
export interface UpgradeRequestLike {
  readonly socket: { readonly remoteAddress?: string | undefined };
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Names the source of an upgrade request, the key pending handshakes are counted under
 * (docs/protocol.md §4.1). Requests with the same key share one cap.
 */
export type RequestSourceOf = (request: UpgradeRequestLike) => string;

// One IPv6 user commonly holds a whole /64, so its addresses count as one source.
function ipv6Prefix(address: string): string {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * The source key of an IP address: the address itself for IPv4 (IPv4-mapped IPv6 included),
 * its /64 for IPv6.
 *
 * @param address - an address as `socket.remoteAddress` gives it.
 * @returns the key, or `unknown` when there is no address.
 * @example
 * ```ts
 * addressSource('::ffff:203.0.113.7'); // '203.0.113.7'
 * ```
 */
export function addressSource(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const bare = address.split('%')[0] ?? address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1] !== undefined) return mapped[1];
  return isIP(bare) === 6 ? ipv6Prefix(bare) : bare;
}

/**
 * The default {@link RequestSourceOf}: the peer's address (its /64 for IPv6). Behind a reverse
 * proxy every request comes from the proxy, so all devices would share one cap: use
 * {@link forwardedForSource} there.
 *
 * @param request - the upgrade request.
 * @returns the source key.
 */
export function remoteAddressSource(request: UpgradeRequestLike): string {
  return addressSource(request.socket.remoteAddress);
}

/** Options of {@link forwardedForSource}. */
export interface ForwardedForSourceOptions {
  /**
   * Addresses of the reverse proxies in front of the server. Only a request arriving from one
   * of them has its `X-Forwarded-For` read; anyone else could write any address there.
   */
  readonly trustedProxies: readonly string[];
}

/**
 * A {@link RequestSourceOf} for servers behind reverse proxies: for a request from a trusted
 * proxy, the right-most `X-Forwarded-For` address that is not itself a trusted proxy (the
 * client as the outermost trusted proxy saw it); for any other request, the peer's address.
 *
 * @param options - the trusted proxies' addresses.
 * @returns the source function, for the gateway's `sourceOf` option.
 * @example
 * ```ts
 * createRealtimeGateway(app, { sourceOf: forwardedForSource({ trustedProxies: ['10.0.0.2'] }) });
 * ```
 */
export function forwardedForSource(options: ForwardedForSourceOptions): RequestSourceOf {
  const trusted = new Set(options.trustedProxies.map((address) => addressSource(address.trim())));
  return (request) => {
    const peer = remoteAddressSource(request);
    const header = request.headers['x-forwarded-for'];
    if (!trusted.has(peer) || typeof header !== 'string') return peer;
    const hops = header.split(',').map((hop) => hop.trim());
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = hops[index] ?? '';
      if (isIP(hop) === 0) return peer;
      const source = addressSource(hop);
      if (!trusted.has(source)) return source;
    }
    return peer;
  };
}
