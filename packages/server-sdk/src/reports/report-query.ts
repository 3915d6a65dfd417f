import type { z } from 'zod';
import type { AdminPrincipal } from '../auth/admin-auth.js';
import { HttpError } from '../http/http-error.js';
import { validate } from '../http/json-body.js';
import type { FieldlineRequest } from '../http/types.js';

/**
 * Parses a report's query string with its zod schema. A parameter given twice is refused
 * rather than one copy silently winning.
 *
 * @param request - the request.
 * @param schema - the report's query schema (strict: unknown parameters are refused).
 * @returns the parsed query.
 * @throws {@link HttpError} `invalid_request` listing every failing parameter.
 * @example
 * ```ts
 * const query = parseReportQuery(request, activityReportQuerySchema);
 * ```
 */
export function parseReportQuery<S extends z.ZodType>(
  request: FieldlineRequest,
  schema: S,
): z.output<S> {
  const params: Record<string, string> = {};
  for (const [name, value] of request.query) {
    if (name in params) {
      throw new HttpError('invalid_request', `The query parameter "${name}" is given twice.`, {
        details: { issues: [{ path: name, message: 'given twice', code: 'custom' }] },
      });
    }
    params[name] = value;
  }
  return validate(params, schema);
}

/**
 * The tenant a report is about: the `tenant` parameter for the operator (required), the
 * token's own tenant for a tenant admin (who may repeat it, but not name another).
 *
 * @param admin - the authenticated admin.
 * @param tenant - the `tenant` parameter, if any.
 * @returns the tenant.
 * @throws {@link HttpError} `invalid_request` when the operator names no tenant, `forbidden`
 *   when a tenant admin names another tenant.
 */
export function resolveReportTenant(admin: AdminPrincipal, tenant: string | undefined): string {
  if (admin.tenant === null) {
    if (tenant === undefined) {
      throw new HttpError(
        'invalid_request',
        'Name the tenant: add ?tenant=<slug> (the operator token spans every tenant).',
        { details: { issues: [{ path: 'tenant', message: 'required', code: 'custom' }] } },
      );
    }
    return tenant;
  }
  if (tenant !== undefined && tenant !== admin.tenant) {
    throw new HttpError('forbidden', `This admin token reads tenant ${admin.tenant} only.`);
  }
  return admin.tenant;
}

/**
 * A stable text of a parsed query for cache keys: keys sorted, `undefined` left out.
 *
 * @param query - the parsed query.
 * @returns canonical JSON.
 */
export function normalizeReportQuery(query: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(query)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(entries));
}
