import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, type Random } from '@fieldline/core';

const SECRET_PREFIX = 'whsec_';

/** The three headers of a signed delivery (Standard Webhooks). */
export interface WebhookSignatureHeaders {
  /** The delivery's id: the same on every retry, the receiver's idempotency key. */
  readonly 'webhook-id': string;
  /** Seconds since the epoch when this attempt was signed. */
  readonly 'webhook-timestamp': string;
  /** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
  readonly 'webhook-signature': string;
}

function secretBytes(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new InvalidArgumentError('A webhook secret starts with "whsec_".', {});
  }
  const bytes = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (bytes.length < 24 || bytes.length > 64) {
    throw new InvalidArgumentError('A webhook secret holds 24 to 64 bytes of base64.', {});
  }
  return bytes;
}

/**
 * Makes a new endpoint secret: `whsec_` and the base64 of 32 random bytes.
 *
 * @param random - the randomness source.
 * @returns the secret.
 * @example
 * ```ts
 * const secret = generateWebhookSecret(systemRandom);
 * ```
 */
export function generateWebhookSecret(random: Random): string {
  return SECRET_PREFIX + Buffer.from(random.bytes(32)).toString('base64');
}

/**
 * Signs one delivery attempt the Standard Webhooks way: HMAC-SHA256, keyed by the secret's
 * bytes, over `<id>.<timestamp>.<body>`. Given several secrets (during a rotation's overlap),
 * the header carries one `v1,` signature per secret, separated by spaces.
 *
 * @param secret - the endpoint's `whsec_…` secret, or its secrets, current first.
 * @param id - the delivery id.
 * @param timestampSeconds - the attempt's time, whole seconds since the epoch.
 * @param body - the exact body sent.
 * @returns the three headers.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a malformed secret.
 * @example
 * ```ts
 * const headers = signWebhook(secret, 'msg_1', Math.floor(Date.now() / 1000), body);
 * ```
 */
export function signWebhook(
  secret: string | readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): WebhookSignatureHeaders {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  const signatures = secrets.map(
    (one) =>
      `v1,${createHmac('sha256', secretBytes(one)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`,
  );
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}

/**
 * Checks a delivery's signature, as a receiver does (docs/webhooks.md has the same logic as a
 * standalone snippet): one of the space-separated `v1,` signatures must match, in constant
 * time, and the timestamp must be within `toleranceSeconds` of `nowSeconds`.
 *
 * @param secret - the endpoint's secret.
 * @param headers - the received `webhook-id`, `webhook-timestamp`, `webhook-signature`.
 * @param body - the raw body received.
 * @param nowSeconds - the receiver's time, seconds since the epoch.
 * @param toleranceSeconds - how far the timestamp may be from now.
 * @returns whether the delivery is authentic and fresh.
 * @example
 * ```ts
 * if (!verifyWebhookSignature(secret, headers, rawBody, Date.now() / 1000)) return 401;
 * ```
 */
export function verifyWebhookSignature(
  secret: string,
  headers: WebhookSignatureHeaders,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers['webhook-timestamp']);
  if (!Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    return false;
  }
  const expected = Buffer.from(
    signWebhook(secret, headers['webhook-id'], timestamp, body)['webhook-signature'],
  );
  return headers['webhook-signature'].split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
