import { ROUTES } from '@fieldline/core';
import { listAudit } from '../audit/list-audit.js';
import { verifyAuditLog } from '../audit/verify-audit-log.js';
import { HttpError } from '../http/http-error.js';
import { json } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

function integerParam(value: string | null, name: string): number | undefined {
  if (value === null) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) {
    throw new HttpError('invalid_request', `${name} must be a non-negative integer.`);
  }
  return number;
}

/**
 * `GET /v1/admin/audit` (a tenant admin sees its tenant's rows; the operator
 * all) and `GET /v1/admin/audit/verify` (operator only: the chain spans every
 * tenant), which compares the chain with the newest signed checkpoint when the
 * app has a checkpointer.
 *
 * @param context - the shared context.
 */
export function adminAuditRoutes(context: AppContext): Route[] {
  const { db, authenticateAdmin } = context;
  return [
    {
      method: 'GET',
      path: ROUTES.adminAudit,
      async handle(request) {
        const admin = authenticateAdmin(request);
        const afterSeq = integerParam(request.query.get('afterSeq'), 'afterSeq');
        const limit = integerParam(request.query.get('limit'), 'limit');
        const entries = await listAudit(db, {
          tenantId: admin.tenant,
          ...(afterSeq === undefined ? {} : { afterSeq }),
          ...(limit === undefined ? {} : { limit }),
        });
        return json(200, { entries });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminAuditVerify,
      async handle(request) {
        const admin = authenticateAdmin(request);
        if (admin.tenant !== null) {
          throw new HttpError(
            'forbidden',
            'Verifying the audit chain needs the operator token: it spans every tenant.',
          );
        }
        const state = await context.auditCheckpoints?.latest();
        return json(
          200,
          await verifyAuditLog(db, {
            checkpoint: state?.checkpoint ?? null,
            checkpointError: state?.error ?? null,
          }),
        );
      },
    },
  ];
}
