import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { writeNotification } from '../notifications/write-notification.js';

/**
 * Disables an enabled endpoint, in one transaction with its audit row
 * (`webhook.endpoint_disabled`) and a `webhook.endpoint_disabled` notification. Its pending
 * deliveries wait; re-enabling the endpoint resumes them.
 *
 * @param db - the database.
 * @param endpointId - the endpoint.
 * @param reason - `gone` (410), `failures` or `admin`.
 * @param context - who disables it, and when (epoch ms).
 * @returns whether this call disabled it (false when it already was).
 * @internal
 */
export function disableWebhookEndpoint(
  db: Kysely<FieldlineDatabase>,
  endpointId: string,
  reason: 'gone' | 'failures' | 'admin',
  context: { readonly actor: string; readonly atMs: number; readonly details?: object },
): Promise<boolean> {
  const at = new Date(context.atMs).toISOString();
  return db.transaction().execute(async (trx) => {
    const disabled = await trx
      .updateTable('webhook_endpoints')
      .set({ enabled: false, disabled_at: at, disabled_reason: reason, updated_at: at })
      .where('id', '=', endpointId)
      .where('enabled', '=', true)
      .returning(['tenant_id'])
      .executeTakeFirst();
    if (disabled === undefined) return false;
    await appendAudit(
      trx,
      {
        tenantId: disabled.tenant_id,
        actor: context.actor,
        action: 'webhook.endpoint_disabled',
        subject: `webhook:${endpointId}`,
        details: { reason, ...context.details },
      },
      { clock: { now: () => context.atMs } },
    );
    await writeNotification(trx, disabled.tenant_id, 'webhook.endpoint_disabled', {
      endpointId,
      reason,
      at,
    });
    return true;
  });
}
