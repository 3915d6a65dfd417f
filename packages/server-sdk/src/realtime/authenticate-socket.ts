import {
  type Clock,
  type HelloFrame,
  REALTIME_CLOSE_CODES,
  type ReplayGuard,
  type ResumeFrame,
  verifyHelloSignature,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { DEVICE_STANDING_COLUMNS, deviceRefusal } from '../devices/device-standing.js';
import { findSession, issueSession } from './session-store.js';

/** The device a socket authenticated as, and the session it holds. */
export interface SocketDevice {
  readonly id: string;
  readonly tenantId: string;
  readonly signingPublicKey: string;
  readonly encryptionPublicKey: string;
  readonly sessionToken: string;
  readonly sessionExpiresAt: Date;
}

/** A refused hello or resume: the `error` frame's code and the close code (§4.2). */
export interface SocketAuthFailure {
  readonly code:
    | 'unknown_device'
    | 'device_revoked'
    | 'device_quarantined'
    | 'key_rotation_required'
    | 'stale_hello'
    | 'bad_signature'
    | 'replayed'
    | 'session_invalid';
  readonly closeCode: number;
  readonly message: string;
}

/** What {@link authenticateSocket} needs. */
export interface SocketAuthDeps {
  readonly db: Kysely<FieldlineDatabase>;
  readonly clock: Clock;
  /** Shared by all instances, so a nonce is used once across the cluster. */
  readonly replayGuard: ReplayGuard;
  readonly maxSkewMs: number;
  readonly sessionTtlMs: number;
}

const failure = (
  code: SocketAuthFailure['code'],
  closeCode: number,
  message: string,
): { ok: false; failure: SocketAuthFailure } => ({
  ok: false,
  failure: { code, closeCode, message },
});

/**
 * Checks a socket's first frame in the order docs/protocol.md §4.2 gives and,
 * for a hello, issues a session. Both a hello and a resume must be signed by the device over
 * the challenge of the connection they arrived on, so a frame recorded elsewhere (or a session
 * token read off a `ws://` wire) authenticates nothing.
 *
 * @param frame - a schema-valid hello or resume.
 * @param challenge - the challenge this connection sent.
 * @param deps - database, clock, replay guard, limits.
 * @returns the device, or the documented failure.
 */
export async function authenticateSocket(
  frame: HelloFrame | ResumeFrame,
  challenge: string,
  deps: SocketAuthDeps,
): Promise<{ ok: true; device: SocketDevice } | { ok: false; failure: SocketAuthFailure }> {
  const row = await deps.db
    .selectFrom('devices')
    .select([
      'id',
      'tenant_id',
      'signing_public_key',
      'encryption_public_key',
      ...DEVICE_STANDING_COLUMNS,
    ])
    .where('id', '=', frame.deviceId)
    .executeTakeFirst();
  if (row === undefined) {
    return failure(
      frame.kind === 'resume' ? 'session_invalid' : 'unknown_device',
      REALTIME_CLOSE_CODES.unauthenticated,
      'No device has this id; enroll first.',
    );
  }
  const refusal = deviceRefusal(row);
  if (refusal !== undefined) return failure(refusal.code, refusal.closeCode, refusal.message);
  const now = deps.clock.now();
  const base = {
    id: row.id,
    tenantId: row.tenant_id,
    signingPublicKey: row.signing_public_key,
    encryptionPublicKey: row.encryption_public_key,
  };
  if (frame.kind === 'hello' && Math.abs(now - frame.ts) > deps.maxSkewMs) {
    return failure(
      'stale_hello',
      REALTIME_CLOSE_CODES.unauthenticated,
      `The hello's ts is more than ${deps.maxSkewMs} ms from the server clock; fix the device clock.`,
    );
  }
  if (!verifyHelloSignature(frame, challenge, row.signing_public_key)) {
    return failure(
      'bad_signature',
      REALTIME_CLOSE_CODES.unauthenticated,
      `The ${frame.kind}'s signature does not verify with this device's key for this connection's challenge.`,
    );
  }
  if (frame.kind === 'resume') {
    const expiresAt = await findSession(deps.db, row.id, frame.sessionToken, new Date(now));
    if (expiresAt === undefined) {
      return failure(
        'session_invalid',
        REALTIME_CLOSE_CODES.unauthenticated,
        'The session token is unknown or expired; send a signed hello.',
      );
    }
    return {
      ok: true,
      device: { ...base, sessionToken: frame.sessionToken, sessionExpiresAt: expiresAt },
    };
  }
  // Namespaced so a nonce can never collide with a sealed frame's message id.
  const fresh = await deps.replayGuard.checkAndRemember(`hello:${row.id}:${frame.nonce}`, frame.ts);
  if (!fresh) {
    return failure(
      'replayed',
      REALTIME_CLOSE_CODES.replayed,
      'This hello nonce was already used; send a new hello.',
    );
  }
  const session = await issueSession(deps.db, row.id, new Date(now + deps.sessionTtlMs));
  return {
    ok: true,
    device: { ...base, sessionToken: session.token, sessionExpiresAt: session.expiresAt },
  };
}
