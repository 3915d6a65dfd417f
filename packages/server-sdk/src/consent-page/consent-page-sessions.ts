import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashSecretToken, secretsEqual } from '../auth/secret-tokens.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { DEVICE_STANDING_COLUMNS, deviceRefusal } from '../devices/device-standing.js';
import { HttpError } from '../http/http-error.js';

/** How long a consent page session lasts unless told otherwise: 30 minutes. */
export const DEFAULT_CONSENT_PAGE_SESSION_TTL_MS = 30 * 60_000;

// HMAC input of the CSRF token: the token is a MAC of the session, so only someone who holds the
// session token (the server, via the cookie) can compute it, and nothing needs storing.
const CSRF_LABEL = 'fieldline/v1 consent-page csrf';

/** A consent page session, as the `/v1/me` routes see it. */
export interface ConsentPageSession {
  /** The session token from the cookie (never stored; its SHA-256 is). */
  readonly token: string;
  readonly tenantId: string;
  readonly deviceId: string;
  /** The device's host name, its name on the page. */
  readonly deviceName: string;
  readonly expiresAt: Date;
}

/**
 * The CSRF token of a session: HMAC-SHA-256 keyed with the session token, base64url. The page
 * gets it in the exchange's answer and from `GET /v1/me`, and sends it back in a header on
 * every `POST`; a page of another site can neither read it nor compute it.
 *
 * @param sessionToken - the session token.
 * @returns the CSRF token.
 * @example
 * ```ts
 * const csrfToken = consentPageCsrfToken(session.token);
 * ```
 */
export function consentPageCsrfToken(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update(CSRF_LABEL).digest('base64url');
}

/**
 * Whether a request's CSRF header matches the session's token, in constant time.
 *
 * @param session - the authenticated session.
 * @param header - the header's value, if any.
 * @returns true when it matches.
 */
export function csrfTokenMatches(session: ConsentPageSession, header: string | undefined): boolean {
  return header !== undefined && secretsEqual(header, consentPageCsrfToken(session.token));
}

/**
 * Opens a session for one device: a new random token, stored as its SHA-256 with the device,
 * its tenant and the expiry. Expired sessions are deleted on the way.
 *
 * @param db - the database or a transaction.
 * @param target - the device and its tenant.
 * @param options - the current time and the lifetime.
 * @returns the token (for the cookie only) and when it expires.
 * @internal
 */
export async function openConsentPageSession(
  db: Kysely<FieldlineDatabase>,
  target: { readonly tenantId: string; readonly deviceId: string },
  options: { readonly nowMs: number; readonly ttlMs: number },
): Promise<{ readonly token: string; readonly expiresAt: Date }> {
  const now = new Date(options.nowMs);
  await db.deleteFrom('consent_page_sessions').where('expires_at', '<=', now).execute();
  // 256 random bits, 43 base64url characters; no readable prefix, as nobody pastes a cookie.
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(options.nowMs + options.ttlMs);
  await db
    .insertInto('consent_page_sessions')
    .values({
      token_hash: hashSecretToken(token),
      tenant_id: target.tenantId,
      device_id: target.deviceId,
      created_at: now,
      expires_at: expiresAt,
    })
    .execute();
  return { token, expiresAt };
}

/**
 * Authenticates a consent page request by its session token: the session must exist, be
 * unexpired, and its device must still be in good standing (a device revoked mid-session
 * closes its page at once).
 *
 * @param db - the database.
 * @param token - the token from the cookie, or undefined when there was none.
 * @param nowMs - the current time.
 * @returns the session.
 * @throws {@link HttpError} `unauthenticated` (no, unknown or expired session),
 *   `device_revoked`, `device_quarantined` or `key_rotation_required`.
 * @internal
 */
export async function authenticateConsentPage(
  db: Kysely<FieldlineDatabase>,
  token: string | undefined,
  nowMs: number,
): Promise<ConsentPageSession> {
  const again = 'Run `fieldline-agent consent` on the device for a new link.';
  if (token === undefined) {
    throw new HttpError('unauthenticated', `Open this page from a consent link. ${again}`);
  }
  const row = await db
    .selectFrom('consent_page_sessions')
    .innerJoin('devices', 'devices.id', 'consent_page_sessions.device_id')
    .select([
      'consent_page_sessions.tenant_id',
      'consent_page_sessions.device_id',
      'consent_page_sessions.expires_at',
      'devices.hostname',
      ...DEVICE_STANDING_COLUMNS.map((column) => `devices.${column}` as const),
    ])
    .where('consent_page_sessions.token_hash', '=', hashSecretToken(token))
    .executeTakeFirst();
  if (row === undefined || row.expires_at.getTime() <= nowMs) {
    throw new HttpError('unauthenticated', `This consent page session has ended. ${again}`);
  }
  const refusal = deviceRefusal(row);
  if (refusal !== undefined) throw pageRefusal(refusal.code);
  return {
    token,
    tenantId: row.tenant_id,
    deviceId: row.device_id,
    deviceName: row.hostname,
    expiresAt: row.expires_at,
  };
}

/**
 * The error a consent page answers for a device that may not speak, in words for the person
 * at the device rather than for the agent.
 *
 * @param code - the device's refusal.
 * @returns the error to throw.
 * @internal
 */
export function pageRefusal(
  code: 'device_revoked' | 'device_quarantined' | 'key_rotation_required',
): HttpError {
  switch (code) {
    case 'device_revoked':
      return new HttpError(
        'device_revoked',
        'This device was removed from the service; its consent page is closed.',
      );
    case 'device_quarantined':
      return new HttpError(
        'device_quarantined',
        'This device is on hold after a security check; ask your administrator.',
      );
    case 'key_rotation_required':
      return new HttpError(
        'key_rotation_required',
        'This device must renew its keys first; leave the agent running a minute and ask for a new link.',
      );
  }
}
