import { z } from 'zod';
import { type Clock, systemClock } from '../contracts/clock.js';
import { type Random, systemRandom } from '../contracts/random.js';
import { decodeBase64Url, encodeBase64Url } from '../crypto/base64url.js';
import { type Identity, SIGNATURE_BYTES, sign, verify } from '../crypto/identity.js';
import { DEFAULT_MAX_SKEW_MS } from '../crypto/seal.js';
import { FieldlineError, InvalidArgumentError, isFieldlineError } from '../errors.js';
import { err, ok, type Result } from '../result.js';
import { idSchema, tenantSchema } from './common.js';
import { MAX_CONSENT_LINK_TOKEN_LENGTH } from './consent-link-limits.js';

/**
 * Domain separation: a consent-link signature can never pass for a hello's, a sealed frame's,
 * a key rotation's or a receipt's, nor the reverse.
 */
export const CONSENT_LINK_SIGNATURE_DOMAIN = 'fieldline/v1 consent-link';

/** The format version of a consent-link token's claims; only `1` exists. */
export const CONSENT_LINK_VERSION = 1;

/** How long a consent link lives unless told otherwise: 10 minutes. */
export const DEFAULT_CONSENT_LINK_TTL_MS = 10 * 60_000;

/** The longest a consent link may live: 1 hour. Servers refuse longer-lived tokens. */
export const MAX_CONSENT_LINK_TTL_MS = 60 * 60_000;

/** Where the employee's consent page is served, relative to the server's base URL. */
export const CONSENT_PAGE_PATH = '/console/consent';

export { MAX_CONSENT_LINK_TOKEN_LENGTH } from './consent-link-limits.js';

const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const epochMs = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * The claims a device signs into a consent link (`v`, `deviceId`, optional `tenant`, `iat` and
 * `exp` in epoch milliseconds, and a 16-byte base64url `nonce`). Unknown keys are refused, `exp`
 * must follow `iat` by at most {@link MAX_CONSENT_LINK_TTL_MS}.
 */
export const consentLinkClaimsSchema = z
  .strictObject({
    v: z.literal(CONSENT_LINK_VERSION),
    deviceId: idSchema,
    tenant: tenantSchema.optional(),
    iat: epochMs,
    exp: epochMs,
    nonce: z.string().regex(NONCE_PATTERN, 'must be 16 bytes as unpadded base64url'),
  })
  .superRefine((claims, ctx) => {
    if (claims.exp <= claims.iat) {
      ctx.addIssue({ code: 'custom', path: ['exp'], message: 'exp must be after iat' });
    } else if (claims.exp - claims.iat > MAX_CONSENT_LINK_TTL_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['exp'],
        message: `a consent link lives at most ${MAX_CONSENT_LINK_TTL_MS} ms`,
      });
    }
  });

/** What a consent link says: which device, issued when, good until when, and its nonce. */
export type ConsentLinkClaims = z.infer<typeof consentLinkClaimsSchema>;

/**
 * Why a consent link was refused:
 * - `invalid_link`: not a token, tampered with, signed by another key, issued in the future,
 *   or living longer than {@link MAX_CONSENT_LINK_TTL_MS};
 * - `link_expired`: genuine, but past its `exp` (beyond the allowed clock skew).
 *
 * A server adds `link_used` (its nonce was already exchanged), which needs storage.
 */
export type ConsentLinkErrorCode = 'invalid_link' | 'link_expired';

/**
 * A consent link that cannot be used. Returned in a `Result`, never thrown: tokens are
 * untrusted input. Its code is the HTTP error code the server answers with (401).
 *
 * @example
 * ```ts
 * const decoded = decodeConsentLinkToken(body.token);
 * if (!decoded.ok) throw new HttpError(decoded.error.code, decoded.error.message);
 * ```
 */
export class ConsentLinkError extends FieldlineError<ConsentLinkErrorCode> {
  /**
   * @param code - which check failed.
   * @param message - a sentence the person holding the link can act on.
   * @param details - structured context (never the token or key material).
   */
  constructor(code: ConsentLinkErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? undefined : { details });
    this.name = 'ConsentLinkError';
  }
}

/**
 * Narrows an unknown value to a {@link ConsentLinkError}.
 *
 * @param value - anything caught or returned.
 * @returns true when `value` is a ConsentLinkError (from any copy of this package).
 */
export function isConsentLinkError(value: unknown): value is ConsentLinkError {
  return (
    isFieldlineError(value) &&
    value.name === 'ConsentLinkError' &&
    (value.code === 'invalid_link' || value.code === 'link_expired')
  );
}

/** A token split into its parts; its signature is not checked yet. */
export interface DecodedConsentLink {
  /** The schema-valid claims. */
  readonly claims: ConsentLinkClaims;
  /** The exact claims bytes the signature covers (after the domain prefix). */
  readonly payload: Uint8Array;
  /** The 64-byte Ed25519 signature. */
  readonly signature: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The exact bytes a device signs for a consent link: the UTF-8 encoding of
 * `"fieldline/v1 consent-link\n"` followed by the claims' JSON bytes exactly as they travel in
 * the token. Signing the transmitted bytes, not a re-serialization, leaves nothing to
 * canonicalize.
 *
 * @param payload - the claims' JSON bytes.
 * @returns the bytes to sign or verify.
 * @example
 * ```ts
 * verify(consentLinkSigningBytes(decoded.payload), decoded.signature, device.signingPublicKey);
 * ```
 */
export function consentLinkSigningBytes(payload: Uint8Array): Uint8Array {
  const domain = encoder.encode(`${CONSENT_LINK_SIGNATURE_DOMAIN}\n`);
  const bytes = new Uint8Array(domain.byteLength + payload.byteLength);
  bytes.set(domain, 0);
  bytes.set(payload, domain.byteLength);
  return bytes;
}

/** Options of {@link createConsentLinkToken}. */
export interface CreateConsentLinkOptions {
  /**
   * How long the link lives, in milliseconds: 1 to {@link MAX_CONSENT_LINK_TTL_MS}.
   * @default DEFAULT_CONSENT_LINK_TTL_MS (10 minutes)
   */
  readonly ttlMs?: number;
  /**
   * Time source for `iat`.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Source of the 16-byte nonce.
   * @default systemRandom
   */
  readonly random?: Random;
}

/** A freshly minted consent link token and what it says. */
export interface ConsentLinkToken {
  /** `<base64url claims JSON>.<base64url signature>`: goes into the page URL's fragment. */
  readonly token: string;
  /** The signed claims. */
  readonly claims: ConsentLinkClaims;
}

/**
 * Mints a consent link token on the device: the claims (device, tenant, issue and expiry
 * times, a random nonce) signed with the device's Ed25519 identity key. The server checks it
 * against the public key the device enrolled with, so no shared secret is involved.
 *
 * @param subject - the enrolled device's id, and its tenant when known.
 * @param identity - the device's identity (its Ed25519 key signs).
 * @param options - lifetime, clock and randomness.
 * @returns the token and its claims.
 * @throws {@link InvalidArgumentError} when `ttlMs` is not an integer from 1 to
 *   {@link MAX_CONSENT_LINK_TTL_MS}, or `subject` breaks the claims' schema.
 * @example
 * ```ts
 * const { token } = createConsentLinkToken({ deviceId, tenant }, identity);
 * console.log(consentLinkUrl(serverUrl, token));
 * ```
 */
export function createConsentLinkToken(
  subject: { readonly deviceId: string; readonly tenant?: string },
  identity: Identity,
  options: CreateConsentLinkOptions = {},
): ConsentLinkToken {
  const ttlMs = options.ttlMs ?? DEFAULT_CONSENT_LINK_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_CONSENT_LINK_TTL_MS) {
    throw new InvalidArgumentError(
      `ttlMs must be an integer from 1 to ${MAX_CONSENT_LINK_TTL_MS} (one hour).`,
      { ttlMs },
    );
  }
  const iat = Math.floor((options.clock ?? systemClock).now());
  const candidate = {
    v: CONSENT_LINK_VERSION,
    deviceId: subject.deviceId,
    ...(subject.tenant === undefined ? {} : { tenant: subject.tenant }),
    iat,
    exp: iat + ttlMs,
    nonce: encodeBase64Url((options.random ?? systemRandom).bytes(16)),
  };
  const parsed = consentLinkClaimsSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new InvalidArgumentError('Cannot build a consent link for this device.', {
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    });
  }
  const payload = encoder.encode(JSON.stringify(parsed.data));
  const signature = sign(consentLinkSigningBytes(payload), identity);
  return {
    token: `${encodeBase64Url(payload)}.${encodeBase64Url(signature)}`,
    claims: parsed.data,
  };
}

const invalid = (message: string, details?: Record<string, unknown>) =>
  err(new ConsentLinkError('invalid_link', message, details));

/**
 * Splits a token and validates its claims, without checking the signature: the server needs
 * the claimed device id to find the public key to check it with ({@link verifyConsentLink}).
 * Never throws.
 *
 * @param token - untrusted input, e.g. the `token` field of the exchange request.
 * @returns the claims, their bytes and the signature, or `invalid_link`.
 * @example
 * ```ts
 * const decoded = decodeConsentLinkToken(body.token);
 * if (decoded.ok) device = await findDevice(decoded.value.claims.deviceId);
 * ```
 */
export function decodeConsentLinkToken(
  token: unknown,
): Result<DecodedConsentLink, ConsentLinkError> {
  if (typeof token !== 'string' || token.length > MAX_CONSENT_LINK_TOKEN_LENGTH) {
    return invalid('This is not a consent link; ask the device for a new one.');
  }
  const parts = token.split('.');
  if (parts.length !== 2) {
    return invalid('This is not a consent link; ask the device for a new one.');
  }
  const payload = decodeBase64Url(parts[0] as string);
  const signature = decodeBase64Url(parts[1] as string);
  if (!payload.ok || !signature.ok || signature.value.byteLength !== SIGNATURE_BYTES) {
    return invalid('The consent link is damaged; copy the whole link or ask for a new one.');
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(payload.value));
  } catch {
    return invalid('The consent link is damaged; copy the whole link or ask for a new one.');
  }
  const claims = consentLinkClaimsSchema.safeParse(json);
  if (!claims.success) {
    return invalid('The consent link is not one this server understands.', {
      issues: claims.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    });
  }
  return ok({ claims: claims.data, payload: payload.value, signature: signature.value });
}

/** Options of {@link verifyConsentLink}. */
export interface VerifyConsentLinkOptions {
  /** The verifier's current time, epoch ms. */
  readonly nowMs: number;
  /**
   * Tolerated difference between the device's clock and the verifier's, in ms, both for `iat`
   * (not before) and `exp`.
   * @default DEFAULT_MAX_SKEW_MS (60 s)
   */
  readonly maxSkewMs?: number;
}

/**
 * Checks a decoded link: the signature against the device's Ed25519 public key, then that it
 * was not issued in the future and has not expired (each within `maxSkewMs`). Whether its nonce
 * was used already is the server's to check. Never throws.
 *
 * @param decoded - from {@link decodeConsentLinkToken}.
 * @param signingPublicKey - the claimed device's registered Ed25519 key (raw or base64url).
 * @param options - the current time and the allowed skew.
 * @returns the claims, or `invalid_link` / `link_expired`.
 * @example
 * ```ts
 * const checked = verifyConsentLink(decoded, device.signingPublicKey, { nowMs: clock.now() });
 * if (!checked.ok) throw new HttpError(checked.error.code, checked.error.message);
 * ```
 */
export function verifyConsentLink(
  decoded: DecodedConsentLink,
  signingPublicKey: Uint8Array | string,
  options: VerifyConsentLinkOptions,
): Result<ConsentLinkClaims, ConsentLinkError> {
  const skew = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const { claims } = decoded;
  if (!verify(consentLinkSigningBytes(decoded.payload), decoded.signature, signingPublicKey)) {
    return invalid('The consent link was not signed by this device; ask it for a new one.');
  }
  if (claims.iat > options.nowMs + skew) {
    return invalid(
      "The consent link was issued in the future: the device's clock is wrong; fix it and ask for a new link.",
      { skewMs: claims.iat - options.nowMs },
    );
  }
  if (options.nowMs > claims.exp + skew) {
    return err(
      new ConsentLinkError(
        'link_expired',
        'The consent link has expired; run `fieldline-agent consent` on the device for a new one.',
        { expiredAt: new Date(claims.exp).toISOString() },
      ),
    );
  }
  return ok(claims);
}

/**
 * The consent page URL for a token: `<serverUrl><pagePath>#t=<token>`. The token rides in the
 * fragment, which browsers never send to servers, so it stays out of access logs, proxies and
 * `Referer` headers; the page reads it and posts it to `POST /v1/consent-link/session`.
 *
 * @param serverUrl - the server's base URL (as the device enrolled with); a path prefix is kept.
 * @param token - from {@link createConsentLinkToken}.
 * @param pagePath - the page's path under the base URL.
 * @returns the URL to print or open.
 * @throws {@link InvalidArgumentError} when `serverUrl` is not an http(s) URL.
 * @example
 * ```ts
 * consentLinkUrl('https://fieldline.example.com', token);
 * // 'https://fieldline.example.com/console/consent#t=eyJ2Ijox…'
 * ```
 */
export function consentLinkUrl(
  serverUrl: string,
  token: string,
  pagePath: string = CONSENT_PAGE_PATH,
): string {
  let base: URL;
  try {
    base = new URL(serverUrl);
  } catch {
    throw new InvalidArgumentError('serverUrl must be an http(s) URL.', { serverUrl });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new InvalidArgumentError('serverUrl must be an http(s) URL.', { serverUrl });
  }
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = pagePath.startsWith('/') ? pagePath : `/${pagePath}`;
  return `${base.origin}${prefix}${path}#t=${token}`;
}
