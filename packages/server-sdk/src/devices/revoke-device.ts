import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** What {@link revokeDevice} did. */
export interface RevokeDeviceResult {
  readonly id: string;
  readonly tenantId: string;
  readonly revokedAt: Date;
  /** False when the device was already revoked: nothing changed and nothing was audited. */
  readonly changed: boolean;
}

/** Options of {@link revokeDevice}. */
export interface RevokeDeviceOptions {
  /** Who revokes, for the audit log (`admin`, `admin:<tenant>`…). */
  readonly actor: string;
  readonly clock: Clock;
}

/**
 * Revokes a device in one audited transaction: its status becomes `revoked`, every device
 * token is revoked, every real-time session ends and its open commands fail with reason
 * `device_revoked`. Idempotent: revoking a revoked device changes nothing and appends no
 * audit row. Closing the device's open sockets is the caller's next step (a bus notice).
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @param options - actor and clock.
 * @returns what happened, or undefined when no device has this id.
 * @example
 * ```ts
 * const result = await revokeDevice(db, 'dev_1', { actor: 'admin', clock });
 * ```
 */
export function revokeDevice(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  options: RevokeDeviceOptions,
): Promise<RevokeDeviceResult | undefined> {
  const now = new Date(options.clock.now());
  return db.transaction().execute(async (trx) => {
    const revoked = await trx
      .updateTable('devices')
      .set({ status: 'revoked', revoked_at: now })
      .where('id', '=', deviceId)
      .where((eb) => eb.or([eb('status', '<>', 'revoked'), eb('revoked_at', 'is', null)]))
      .returning(['tenant_id'])
      .executeTakeFirst();
    if (revoked === undefined) {
      const row = await trx
        .selectFrom('devices')
        .select(['tenant_id', 'revoked_at'])
        .where('id', '=', deviceId)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        id: deviceId,
        tenantId: row.tenant_id,
        revokedAt: row.revoked_at ?? now,
        changed: false,
      };
    }
    const tokens = await trx
      .updateTable('device_tokens')
      .set({ revoked_at: now })
      .where('device_id', '=', deviceId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const sessions = await trx.deleteFrom('sessions').where('device_id', '=', deviceId).execute();
    const commands = await trx
      .updateTable('commands')
      .set({ status: 'failed', reason: 'device_revoked' })
      .where('device_id', '=', deviceId)
      .where('status', 'in', ['pending', 'sent'])
      .executeTakeFirst();
    await appendAudit(
      trx,
      {
        tenantId: revoked.tenant_id,
        actor: options.actor,
        action: 'device.revoke',
        subject: `device:${deviceId}`,
        details: {
          tokensRevoked: Number(tokens.numUpdatedRows),
          sessionsEnded: sessions.reduce((sum, result) => sum + Number(result.numDeletedRows), 0),
          commandsFailed: Number(commands.numUpdatedRows),
        },
      },
      { clock: options.clock },
    );
    return { id: deviceId, tenantId: revoked.tenant_id, revokedAt: now, changed: true };
  });
}
