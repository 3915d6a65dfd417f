// Consent link tokens: what a device signs, what verifies, and what a changed byte, another key,
// a late clock, an early clock or a greedy lifetime makes fail.
import { describe, expect, it } from 'vitest';
import {
  CONSENT_LINK_SIGNATURE_DOMAIN,
  consentLinkSigningBytes,
  consentLinkUrl,
  createConsentLinkToken,
  DEFAULT_CONSENT_LINK_TTL_MS,
  decodeBase64Url,
  decodeConsentLinkToken,
  encodeBase64Url,
  generateIdentity,
  type Identity,
  isConsentLinkError,
  isInvalidArgumentError,
  MAX_CONSENT_LINK_TTL_MS,
  sign,
  verify,
  verifyConsentLink,
} from '../../src/index.js';
import { createFakeClock, createSeededRandom } from '../../src/testing/index.js';

const NOW = Date.UTC(2026, 5, 1, 9, 0, 0);

function mint(identity: Identity, options: { ttlMs?: number; nowMs?: number } = {}) {
  return createConsentLinkToken({ deviceId: 'dev_1', tenant: 'acme' }, identity, {
    clock: createFakeClock({ nowMs: options.nowMs ?? NOW }),
    random: createSeededRandom(7),
    ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
  });
}

function check(token: unknown, key: Uint8Array | string, nowMs = NOW) {
  const decoded = decodeConsentLinkToken(token);
  if (!decoded.ok) return decoded;
  return verifyConsentLink(decoded.value, key, { nowMs });
}

/** Re-signs a payload with `identity`, so only what the test changed differs. */
function signed(payload: string, identity: Identity): string {
  const bytes = new TextEncoder().encode(payload);
  return `${encodeBase64Url(bytes)}.${encodeBase64Url(sign(consentLinkSigningBytes(bytes), identity))}`;
}

describe('consent link tokens', () => {
  it('carry the device, tenant, times and a nonce, signed by the device key', async () => {
    const device = await generateIdentity();
    const { token, claims } = mint(device);
    expect(claims).toEqual({
      v: 1,
      deviceId: 'dev_1',
      tenant: 'acme',
      iat: NOW,
      exp: NOW + DEFAULT_CONSENT_LINK_TTL_MS,
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    const result = check(token, device.signingPublicKey);
    expect(result).toEqual({ ok: true, value: claims });
    // The signature covers the domain line and the transmitted claims bytes, nothing else.
    const [payload, signature] = token.split('.') as [string, string];
    const bytes = decodeBase64Url(payload);
    const sig = decodeBase64Url(signature);
    if (!bytes.ok || !sig.ok) throw new Error('token parts must be base64url');
    const expected = new TextEncoder().encode(
      `${CONSENT_LINK_SIGNATURE_DOMAIN}\n${new TextDecoder().decode(bytes.value)}`,
    );
    expect(verify(expected, sig.value, device.signingPublicKey)).toBe(true);
  });

  it('refuses a token signed by another key', async () => {
    const device = await generateIdentity();
    const stranger = await generateIdentity();
    const result = check(mint(stranger).token, device.signingPublicKey);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('invalid_link');
  });

  it('refuses any changed byte of the claims or the signature', async () => {
    const device = await generateIdentity();
    const { token, claims } = mint(device);
    const [payload, signature] = token.split('.') as [string, string];
    // Another device's id in otherwise identical claims, keeping the original signature.
    const forged = encodeBase64Url(
      new TextEncoder().encode(JSON.stringify({ ...claims, deviceId: 'dev_2' })),
    );
    expect(check(`${forged}.${signature}`, device.signingPublicKey)).toMatchObject({
      ok: false,
      error: { code: 'invalid_link' },
    });
    const longer = encodeBase64Url(
      new TextEncoder().encode(JSON.stringify({ ...claims, exp: claims.exp + 1 })),
    );
    expect(check(`${longer}.${signature}`, device.signingPublicKey).ok).toBe(false);
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    expect(check(`${payload}.${flipped}`, device.signingPublicKey).ok).toBe(false);
  });

  it('expires after exp plus the allowed skew, and refuses tokens issued in the future', async () => {
    const device = await generateIdentity();
    const { token, claims } = mint(device);
    const key = device.signingPublicKey;
    expect(check(token, key, claims.exp + 60_000).ok).toBe(true);
    const late = check(token, key, claims.exp + 60_001);
    expect(late).toMatchObject({ ok: false, error: { code: 'link_expired' } });
    expect(check(token, key, NOW - 60_000).ok).toBe(true);
    const early = check(token, key, NOW - 60_001);
    expect(early).toMatchObject({ ok: false, error: { code: 'invalid_link' } });
    const decoded = decodeConsentLinkToken(token);
    if (!decoded.ok) throw decoded.error;
    expect(
      verifyConsentLink(decoded.value, key, { nowMs: claims.exp + 1, maxSkewMs: 0 }),
    ).toMatchObject({ ok: false, error: { code: 'link_expired' } });
  });

  it('lives 1 ms to one hour: longer is refused when minted and when verified', async () => {
    const device = await generateIdentity();
    expect(mint(device, { ttlMs: MAX_CONSENT_LINK_TTL_MS }).claims.exp).toBe(
      NOW + MAX_CONSENT_LINK_TTL_MS,
    );
    for (const ttlMs of [0, -1, 1.5, MAX_CONSENT_LINK_TTL_MS + 1]) {
      expect(() => mint(device, { ttlMs })).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
    }
    const greedy = signed(
      JSON.stringify({
        v: 1,
        deviceId: 'dev_1',
        iat: NOW,
        exp: NOW + MAX_CONSENT_LINK_TTL_MS + 1,
        nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
      }),
      device,
    );
    expect(check(greedy, device.signingPublicKey)).toMatchObject({
      ok: false,
      error: { code: 'invalid_link', details: { issues: [{ path: 'exp' }] } },
    });
  });

  it('refuses malformed input without throwing', async () => {
    const device = await generateIdentity();
    const { token } = mint(device);
    const payload = token.split('.')[0] as string;
    const hostile: unknown[] = [
      undefined,
      null,
      42,
      {},
      '',
      '.',
      'a.b.c',
      `${token}.x`,
      `${payload}.`,
      `${payload}.${'A'.repeat(86)}=`,
      `${payload}.${encodeBase64Url(new Uint8Array(63))}`,
      `${encodeBase64Url(new Uint8Array([0xff, 0xfe]))}.${token.split('.')[1]}`,
      'x'.repeat(5000),
      signed('[]', device),
      signed('{"v":2,"deviceId":"dev_1","iat":1,"exp":2,"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}', device),
      signed(
        '{"v":1,"deviceId":"dev_1","iat":1,"exp":2,"nonce":"AAAAAAAAAAAAAAAAAAAAAA","admin":true}',
        device,
      ),
      signed('{"v":1,"deviceId":"","iat":1,"exp":2,"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}', device),
      signed('{"v":1,"deviceId":"dev_1","iat":5,"exp":5,"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}', device),
      signed('{"v":1,"deviceId":"dev_1","iat":1,"exp":2,"nonce":"short"}', device),
    ];
    for (const input of hostile) {
      const result = check(input, device.signingPublicKey);
      expect(result.ok, String(input)).toBe(false);
      if (!result.ok) {
        expect(isConsentLinkError(result.error)).toBe(true);
        expect(result.error.code).toBe('invalid_link');
      }
    }
    // A malformed key is a failed check, not an exception.
    expect(check(token, 'not a key').ok).toBe(false);
  });

  it('puts the token in the page URL fragment, keeping a path prefix', () => {
    expect(consentLinkUrl('https://fl.example.com', 'abc.def')).toBe(
      'https://fl.example.com/console/consent#t=abc.def',
    );
    expect(consentLinkUrl('https://fl.example.com/fieldline/', 'abc.def')).toBe(
      'https://fl.example.com/fieldline/console/consent#t=abc.def',
    );
    expect(consentLinkUrl('http://127.0.0.1:8080', 't', 'my/page')).toBe(
      'http://127.0.0.1:8080/my/page#t=t',
    );
    for (const bad of ['not a url', 'ftp://fl.example.com']) {
      let thrown: unknown;
      try {
        consentLinkUrl(bad, 't');
      } catch (error) {
        thrown = error;
      }
      expect(isInvalidArgumentError(thrown)).toBe(true);
    }
  });
});
