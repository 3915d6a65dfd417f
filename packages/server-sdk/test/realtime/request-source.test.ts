// Source keys of upgrade requests: IPv4 as is (mapped or not), IPv6 by its /64, and
// X-Forwarded-For read only from trusted proxies.
import { describe, expect, it } from 'vitest';
import {
  addressSource,
  forwardedForSource,
  type UpgradeRequestLike,
} from '../../src/realtime/request-source.js';

const request = (remoteAddress: string, forwardedFor?: string): UpgradeRequestLike => ({
  socket: { remoteAddress },
  headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
});

describe('request sources', () => {
  it('keys IPv4 by address and IPv6 by /64', () => {
    expect(addressSource('203.0.113.7')).toBe('203.0.113.7');
    expect(addressSource('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressSource('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressSource('2001:db8:1:2::9')).toBe(addressSource('2001:0db8:1:2:ff::1'));
    expect(addressSource('::1')).toBe('0:0:0:0::/64');
    expect(addressSource('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressSource(undefined)).toBe('unknown');
  });

  it('reads X-Forwarded-For right to left, past trusted proxies, from trusted peers only', () => {
    const sourceOf = forwardedForSource({ trustedProxies: ['10.0.0.2', '10.0.0.3'] });
    expect(sourceOf(request('10.0.0.2', '198.51.100.1, 198.51.100.7'))).toBe('198.51.100.7');
    expect(sourceOf(request('10.0.0.2', '198.51.100.7, 10.0.0.3'))).toBe('198.51.100.7');
    expect(sourceOf(request('::ffff:10.0.0.2', '198.51.100.7'))).toBe('198.51.100.7');
    expect(sourceOf(request('10.0.0.2'))).toBe('10.0.0.2');
    expect(sourceOf(request('10.0.0.2', 'not-an-address'))).toBe('10.0.0.2');
    expect(sourceOf(request('192.0.2.9', '198.51.100.7'))).toBe('192.0.2.9');
  });
});
