import {
  type Clock,
  DEFAULT_MAX_SKEW_MS,
  decodeConsentLinkToken,
  systemClock,
  verifyConsentLink,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import { runInTransaction } from '../audit/run-in-transaction.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { DEVICE_STANDING_COLUMNS, deviceRefusal } from '../devices/device-standing.js';
import { HttpError } from '../http/http-error.js';
import {
  consentPageCsrfToken,
  DEFAULT_CONSENT_PAGE_SESSION_TTL_MS,
  openConsentPageSession,
  pageRefusal,
} from './consent-page-sessions.js';

/** Options of {@link exchangeConsentLink}. */
export interface ExchangeConsentLinkOptions {
  /**
   * The server's time, for expiry, not-before and the session's lifetime.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Tolerated difference between the device's clock and the server's, in ms.
   * @default 60_000
   */
  readonly maxSkewMs?: number;
  /**
   * How long the session the link opens lasts, in ms.
   * @default 1_800_000 (30 minutes)
   */
  readonly sessionTtlMs?: number;
}

/** What a successful exchange hands back. */
export interface ConsentLinkExchange {
  /** The session token: for the HttpOnly cookie only, never for the page's script. */
  readonly sessionToken: string;
  /** The CSRF token the page sends with every `POST` under `/v1/me`. */
  readonly csrfToken: string;
  readonly deviceId: string;
  readonly tenantId: string;
  readonly expiresAt: Date;
}

const NOT_THIS_DEVICE = 'The consent link was not signed by this device; ask it for a new one.';

/**
 * Exchanges a device-signed consent link for a consent page session scoped to that device
 * (docs/consent-page.md): decodes the token, checks its signature against the device's
 * registered Ed25519 key, its expiry and not-before time (within `maxSkewMs`), the device's
 * standing, and spends its nonce (single use: the nonce is kept until the link expires), then
 * opens the session and audits `consent_page.opened`, in one transaction.
 *
 * @param db - the database.
 * @param token - the untrusted token from the link.
 * @param options - clock, skew, session lifetime.
 * @returns the session token, CSRF token, device, tenant and expiry.
 * @throws {@link HttpError} 401 `invalid_link` (malformed, tampered, another key, unknown
 *   device, issued in the future, too long-lived, tenant mismatch), `link_expired`,
 *   `link_used`, `device_revoked`; 403 `device_quarantined`, `key_rotation_required`.
 * @example
 * ```ts
 * const session = await exchangeConsentLink(db, body.token, { clock });
 * ```
 */
export async function exchangeConsentLink(
  db: Kysely<FieldlineDatabase>,
  token: unknown,
  options: ExchangeConsentLinkOptions = {},
): Promise<ConsentLinkExchange> {
  const clock = options.clock ?? systemClock;
  const skew = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const ttlMs = options.sessionTtlMs ?? DEFAULT_CONSENT_PAGE_SESSION_TTL_MS;
  const decoded = decodeConsentLinkToken(token);
  if (!decoded.ok) {
    throw new HttpError(decoded.error.code, decoded.error.message, {
      ...(decoded.error.details === undefined ? {} : { details: { ...decoded.error.details } }),
    });
  }
  const { claims } = decoded.value;
  const device = await db
    .selectFrom('devices')
    .select(['id', 'tenant_id', 'signing_public_key', ...DEVICE_STANDING_COLUMNS])
    .where('id', '=', claims.deviceId)
    .executeTakeFirst();
  // An unknown device gets the answer a wrong key gets: ids cannot be probed with made-up links.
  if (device === undefined) throw new HttpError('invalid_link', NOT_THIS_DEVICE);
  const nowMs = clock.now();
  const verified = verifyConsentLink(decoded.value, device.signing_public_key, {
    nowMs,
    maxSkewMs: skew,
  });
  if (!verified.ok) {
    throw new HttpError(verified.error.code, verified.error.message, {
      ...(verified.error.details === undefined ? {} : { details: { ...verified.error.details } }),
    });
  }
  if (claims.tenant !== undefined && claims.tenant !== device.tenant_id) {
    throw new HttpError('invalid_link', NOT_THIS_DEVICE);
  }
  const refusal = deviceRefusal(device);
  if (refusal !== undefined) throw pageRefusal(refusal.code);

  return runInTransaction(db, async (trx) => {
    // A nonce need not be remembered once its link could no longer pass the expiry check.
    await trx.deleteFrom('consent_link_nonces').where('expires_at', '<', new Date(nowMs)).execute();
    const spent = await trx
      .insertInto('consent_link_nonces')
      .values({
        device_id: device.id,
        nonce: claims.nonce,
        expires_at: new Date(claims.exp + skew),
      })
      .onConflict((conflict) => conflict.columns(['device_id', 'nonce']).doNothing())
      .returning('nonce')
      .executeTakeFirst();
    if (spent === undefined) {
      throw new HttpError(
        'link_used',
        'This consent link was opened already; run `fieldline-agent consent` on the device for a new one.',
      );
    }
    const session = await openConsentPageSession(
      trx,
      { tenantId: device.tenant_id, deviceId: device.id },
      { nowMs, ttlMs },
    );
    await appendAudit(
      trx,
      {
        tenantId: device.tenant_id,
        actor: `device-user:${device.id}`,
        action: 'consent_page.opened',
        subject: `device:${device.id}`,
        details: { expiresAt: session.expiresAt.toISOString() },
      },
      { clock },
    );
    return {
      sessionToken: session.token,
      csrfToken: consentPageCsrfToken(session.token),
      deviceId: device.id,
      tenantId: device.tenant_id,
      expiresAt: session.expiresAt,
    };
  });
}
