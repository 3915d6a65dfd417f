import {
  createWebhookRequestSchema,
  ROUTES,
  rotateWebhookSecretRequestSchema,
  systemRandom,
  updateWebhookRequestSchema,
} from '@fieldline/core';
import { appendAudit } from '../audit/append-audit.js';
import { type AdminPrincipal, assertTenantAccess } from '../auth/admin-auth.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import { attemptDelivery } from '../webhooks/attempt-delivery.js';
import { newDeliveryId } from '../webhooks/enqueue-deliveries.js';
import { isPrivateAddress, literalAddress } from '../webhooks/webhook-address-guard.js';
import {
  type ResolvedWebhookDeliveryOptions,
  resolveWebhookDeliveryOptions,
  type WebhookDeliveryOptions,
} from '../webhooks/webhook-delivery-policy.js';
import { generateWebhookSecret } from '../webhooks/webhook-signature.js';
import { toWebhookDelivery, toWebhookEndpoint } from '../webhooks/webhook-views.js';
import type { AppContext } from './app-context.js';

// The previous secret keeps signing beside the new one for a day after a rotation, so a
// receiver can deploy the new secret without refusing deliveries in between.
const DEFAULT_OVERLAP_SECONDS = 86_400;

function newEndpointId(): string {
  return `wh_${Buffer.from(systemRandom.bytes(12)).toString('hex')}`;
}

// A DNS name is checked when each attempt connects; here only what is knowable now is refused.
function checkUrl(url: string, delivery: ResolvedWebhookDeliveryOptions): void {
  if (delivery.allowPrivateUrls) return;
  const parsed = new URL(url);
  const address = literalAddress(parsed);
  const host = parsed.hostname.toLowerCase();
  if (
    (address !== undefined && isPrivateAddress(address)) ||
    host === 'localhost' ||
    host.endsWith('.localhost')
  ) {
    throw new HttpError(
      'invalid_request',
      'url points at a private or loopback address; use a public address (or start the server with allowPrivateWebhookUrls).',
      { details: { url } },
    );
  }
}

/**
 * The webhook admin routes (docs/webhooks.md): create (answers the secret once), list, read,
 * change, delete, test, list deliveries, redeliver, rotate the secret. A tenant token sees its
 * tenant's endpoints only (another tenant's is 404). Every change is audited.
 *
 * @param context - the shared context.
 * @param options - the webhook key and delivery options (as the worker's).
 * @returns the routes.
 */
export function adminWebhookRoutes(
  context: AppContext,
  options: Omit<WebhookDeliveryOptions, 'clock'>,
): Route[] {
  const { db, clock, authenticateAdmin } = context;
  const delivery = resolveWebhookDeliveryOptions({ ...options, clock });
  const random = options.random ?? systemRandom;

  async function ownedEndpoint(admin: AdminPrincipal, id: string) {
    const row = await db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined || (admin.tenant !== null && admin.tenant !== row.tenant_id)) {
      throw new HttpError('not_found', 'No such webhook.');
    }
    return row;
  }

  const audit = (
    trx: typeof db,
    admin: AdminPrincipal,
    tenantId: string,
    action: string,
    id: string,
    details: Record<string, unknown>,
  ) =>
    appendAudit(
      trx,
      { tenantId, actor: admin.actor, action, subject: `webhook:${id}`, details },
      { clock },
    );

  return [
    {
      method: 'POST',
      path: ROUTES.adminWebhooks,
      async handle(request) {
        const admin = authenticateAdmin(request);
        const body = readJsonBody(request, createWebhookRequestSchema);
        assertTenantAccess(admin, body.tenant, 'tenant');
        checkUrl(body.url, delivery);
        const tenant = await db
          .selectFrom('tenants')
          .select('id')
          .where('id', '=', body.tenant)
          .executeTakeFirst();
        if (tenant === undefined) throw new HttpError('not_found', `No tenant ${body.tenant}.`);
        const id = newEndpointId();
        const secret = generateWebhookSecret(random);
        const row = await db.transaction().execute(async (trx) => {
          const inserted = await trx
            .insertInto('webhook_endpoints')
            .values({
              id,
              tenant_id: body.tenant,
              url: body.url,
              event_types: JSON.stringify(body.events),
              description: body.description ?? null,
              secret_ciphertext: delivery.secretBox.seal(id, secret),
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await audit(trx, admin, body.tenant, 'webhook.created', id, {
            url: body.url,
            events: body.events,
          });
          return inserted;
        });
        return json(201, { ...toWebhookEndpoint(row), secret });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminWebhooks,
      async handle(request) {
        const admin = authenticateAdmin(request);
        let query = db.selectFrom('webhook_endpoints').selectAll().orderBy('created_at');
        if (admin.tenant !== null) query = query.where('tenant_id', '=', admin.tenant);
        const rows = await query.execute();
        return json(200, { webhooks: rows.map(toWebhookEndpoint) });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminWebhook,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        return json(200, toWebhookEndpoint(await ownedEndpoint(admin, params.id ?? '')));
      },
    },
    {
      method: 'PATCH',
      path: ROUTES.adminWebhook,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const current = await ownedEndpoint(admin, params.id ?? '');
        const body = readJsonBody(request, updateWebhookRequestSchema);
        if (body.url !== undefined) checkUrl(body.url, delivery);
        const at = new Date(clock.now()).toISOString();
        const enabling = body.enabled === true && !current.enabled;
        const row = await db.transaction().execute(async (trx) => {
          const updated = await trx
            .updateTable('webhook_endpoints')
            .set({
              updated_at: at,
              ...(body.url === undefined ? {} : { url: body.url }),
              ...(body.events === undefined ? {} : { event_types: JSON.stringify(body.events) }),
              ...(body.description === undefined ? {} : { description: body.description }),
              // Re-enabling starts the endpoint afresh: its failures are forgotten.
              ...(enabling
                ? {
                    enabled: true,
                    disabled_at: null,
                    disabled_reason: null,
                    consecutive_failures: 0,
                    failing_since: null,
                  }
                : {}),
              ...(body.enabled === false && current.enabled
                ? { enabled: false, disabled_at: at, disabled_reason: 'admin' }
                : {}),
            })
            .where('id', '=', current.id)
            .returningAll()
            .executeTakeFirstOrThrow();
          await audit(trx, admin, current.tenant_id, 'webhook.updated', current.id, { ...body });
          return updated;
        });
        return json(200, toWebhookEndpoint(row));
      },
    },
    {
      method: 'DELETE',
      path: ROUTES.adminWebhook,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const current = await ownedEndpoint(admin, params.id ?? '');
        await db.transaction().execute(async (trx) => {
          await trx.deleteFrom('webhook_endpoints').where('id', '=', current.id).execute();
          await audit(trx, admin, current.tenant_id, 'webhook.deleted', current.id, {
            url: current.url,
          });
        });
        return json(200, { id: current.id, deleted: true });
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminWebhookRotateSecret,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const current = await ownedEndpoint(admin, params.id ?? '');
        const { overlapSeconds = DEFAULT_OVERLAP_SECONDS } =
          request.body.length === 0 ? {} : readJsonBody(request, rotateWebhookSecretRequestSchema);
        const secret = generateWebhookSecret(random);
        const nowMs = clock.now();
        const row = await db.transaction().execute(async (trx) => {
          const updated = await trx
            .updateTable('webhook_endpoints')
            .set({
              secret_ciphertext: delivery.secretBox.seal(current.id, secret),
              // Sealed for the same endpoint, so the stored ciphertext moves over as it is.
              previous_secret_ciphertext: overlapSeconds === 0 ? null : current.secret_ciphertext,
              previous_secret_expires_at:
                overlapSeconds === 0 ? null : new Date(nowMs + overlapSeconds * 1000),
              updated_at: new Date(nowMs).toISOString(),
            })
            .where('id', '=', current.id)
            .returningAll()
            .executeTakeFirstOrThrow();
          await audit(trx, admin, current.tenant_id, 'webhook.secret_rotated', current.id, {
            overlapSeconds,
          });
          return updated;
        });
        return json(200, { ...toWebhookEndpoint(row), secret });
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminWebhookTest,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const current = await ownedEndpoint(admin, params.id ?? '');
        const at = new Date(clock.now()).toISOString();
        const id = newDeliveryId();
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('webhook_deliveries')
            .values({
              id,
              endpoint_id: current.id,
              tenant_id: current.tenant_id,
              stream_seq: null,
              type: 'webhook.test',
              body: JSON.stringify({
                type: 'webhook.test',
                timestamp: at,
                tenant: current.tenant_id,
                data: { endpointId: current.id, at },
              }),
              // Sent below, once; a failed test is not retried.
              status: 'dead',
            })
            .execute();
          await audit(trx, admin, current.tenant_id, 'webhook.tested', current.id, {
            deliveryId: id,
          });
        });
        await attemptDelivery(db, id, delivery, { retry: false });
        return json(200, await deliveryView(id));
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminWebhookDeliveries,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const current = await ownedEndpoint(admin, params.id ?? '');
        const limitParam = request.query.get('limit');
        const limit = limitParam === null ? 50 : Number(limitParam);
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
          throw new HttpError('invalid_request', 'limit must be an integer from 1 to 500.');
        }
        const rows = await db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('endpoint_id', '=', current.id)
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(limit)
          .execute();
        return json(200, { deliveries: rows.map(toWebhookDelivery) });
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminWebhookRedeliver,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const found = await db
          .selectFrom('webhook_deliveries as d')
          .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
          .select(['d.id', 'd.endpoint_id', 'd.tenant_id', 'e.enabled'])
          .where('d.id', '=', params.id ?? '')
          .executeTakeFirst();
        if (found === undefined || (admin.tenant !== null && admin.tenant !== found.tenant_id)) {
          throw new HttpError('not_found', 'No such webhook delivery.');
        }
        if (!found.enabled) {
          throw new HttpError(
            'conflict',
            'The endpoint is disabled; re-enable it (PATCH enabled: true) before redelivering.',
            { details: { endpointId: found.endpoint_id } },
          );
        }
        await audit(db, admin, found.tenant_id, 'webhook.redelivered', found.endpoint_id, {
          deliveryId: found.id,
        });
        await attemptDelivery(db, found.id, delivery, { retry: true });
        return json(200, await deliveryView(found.id));
      },
    },
  ];

  async function deliveryView(id: string) {
    const row = await db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return toWebhookDelivery(row);
  }
}
