import {
  consentActionRequestSchema,
  createPolicyRequestSchema,
  ROUTES,
  toConsentSnapshot,
} from '@fieldline/core';
import { assertTenantAccess } from '../auth/admin-auth.js';
import {
  activeDeviceConsents,
  announceConsentChanges,
  BUILT_IN_COMMAND_TYPES,
} from '../commands/built-in-commands.js';
import { consentReceipt } from '../consent/consent-receipt.js';
import { currentConsent } from '../consent/current-consent.js';
import { grantConsent } from '../consent/grant-consent.js';
import { listConsentLedger } from '../consent/list-consent-ledger.js';
import { publishPolicy } from '../consent/publish-policy.js';
import { withdrawConsent } from '../consent/withdraw-consent.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';
import { createDeviceAccess } from './device-access.js';

/**
 * Consent administration: publish policies, grant or withdraw for a device,
 * read its ledger, and fetch a signed receipt for any ledger entry. Every
 * change is pushed to the devices it concerns as a built-in command
 * (`consent.updated`, `consent.withdrawn`) and to the admin stream.
 *
 * @param context - the shared context.
 */
export function adminConsentRoutes(context: AppContext): Route[] {
  const { db, authenticateAdmin, consentOptions } = context;
  const options = { ...consentOptions, clock: context.clock };

  const ownedDevice = createDeviceAccess(context);

  return [
    {
      method: 'POST',
      path: ROUTES.adminPolicies,
      async handle(request) {
        const admin = authenticateAdmin(request);
        const body = readJsonBody(request, createPolicyRequestSchema);
        if (admin.tenant !== null && admin.tenant !== body.tenant) {
          throw new HttpError('forbidden', `This admin token manages tenant ${admin.tenant} only.`);
        }
        // One transaction: a refused policy must not leave a new tenant row behind.
        const published = await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('tenants')
            .values({ id: body.tenant })
            .onConflict((oc) => oc.doNothing())
            .execute();
          return publishPolicy(
            trx,
            {
              tenantId: body.tenant,
              version: body.version,
              scopes: body.scopes,
              text: body.text,
              ...(body.url === undefined ? {} : { url: body.url }),
              ...(body.summary === undefined ? {} : { summary: body.summary }),
              ...(body.purposes === undefined ? {} : { purposes: body.purposes }),
              actor: admin.actor,
            },
            options,
          );
        });
        // After the commit: devices must never hear of a publication that was rolled back.
        await announceConsentChanges(
          context,
          body.tenant,
          await activeDeviceConsents(db, body.tenant),
          BUILT_IN_COMMAND_TYPES.consentUpdated,
        );
        return json(201, published);
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminDeviceConsent,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        const tenantId = await ownedDevice(request, deviceId);
        const { actor } = authenticateAdmin(request);
        const body = readJsonBody(request, consentActionRequestSchema);
        const common = { tenantId, deviceId, method: 'admin-api' as const, actor };
        const snapshot =
          body.action === 'grant'
            ? await grantConsent(
                db,
                {
                  ...common,
                  ...(body.scopes === undefined ? {} : { scopes: body.scopes }),
                  ...(body.policyVersion === undefined
                    ? {}
                    : { policyVersion: body.policyVersion }),
                  ...(body.expiresAt === undefined ? {} : { expiresAt: body.expiresAt }),
                },
                options,
              )
            : await withdrawConsent(
                db,
                { ...common, ...(body.scopes === undefined ? {} : { scopes: body.scopes }) },
                options,
              );
        await announceConsentChanges(
          context,
          tenantId,
          [{ tenantId, deviceId, consent: snapshot }],
          body.action === 'withdraw'
            ? BUILT_IN_COMMAND_TYPES.consentWithdrawn
            : BUILT_IN_COMMAND_TYPES.consentUpdated,
        );
        return json(200, snapshot);
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminDeviceConsent,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        const tenantId = await ownedDevice(request, deviceId);
        const [state, ledger] = await Promise.all([
          currentConsent(db, deviceId),
          listConsentLedger(db, { tenantId, deviceId }),
        ]);
        return json(200, { consent: toConsentSnapshot(state), ledger });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminConsentReceipt,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const ledgerId = params.id ?? '';
        const row = await db
          .selectFrom('consent_ledger')
          .select('tenant_id')
          .where('id', '=', ledgerId)
          .executeTakeFirst();
        if (row === undefined) throw new HttpError('not_found', 'No such consent ledger entry.');
        assertTenantAccess(admin, row.tenant_id, 'consent ledger entry');
        return json(
          200,
          await consentReceipt(db, { tenantId: row.tenant_id, ledgerId }, context.serverIdentity),
        );
      },
    },
  ];
}
