import { BlockList, isIP } from 'node:net';

// Where a webhook must not reach unless the operator allows it: loopback, private, link-local
// (cloud metadata at 169.254.169.254), carrier-grade NAT, unspecified, multicast and reserved
// ranges, in IPv4 and IPv6 (with IPv4-mapped IPv6 checked as the IPv4 it maps).
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/**
 * Whether an IP address is private, loopback, link-local or otherwise not on the public
 * internet (the addresses a webhook may reach only with `allowPrivateWebhookUrls`).
 *
 * @param address - an IPv4 or IPv6 address (no brackets).
 * @returns true for an address in a blocked range, and for anything that is not an IP.
 * @example
 * ```ts
 * isPrivateAddress('10.1.2.3'); // true
 * isPrivateAddress('93.184.216.34'); // false
 * ```
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return blocked.check(mapped[1], 'ipv4');
  return blocked.check(address, 'ipv6');
}

/**
 * The literal IP address of a URL's host, or undefined for a DNS name.
 *
 * @param url - a parsed URL.
 * @returns the address without IPv6 brackets.
 * @internal
 */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) === 0 ? undefined : host;
}
