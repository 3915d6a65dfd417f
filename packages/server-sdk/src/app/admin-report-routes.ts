import {
  activityReportQuerySchema,
  auditReportQuerySchema,
  complianceReportQuerySchema,
  ROUTES,
} from '@fieldline/core';
import { deviceTenant } from '../devices/device-queries.js';
import { HttpError } from '../http/http-error.js';
import type { FieldlineRequest, FieldlineResponse, Route } from '../http/types.js';
import { activityGeneration, activityReportBody } from '../reports/activity-report.js';
import { auditGeneration, auditReportBody } from '../reports/audit-report.js';
import { complianceGeneration, complianceReportBody } from '../reports/compliance-report.js';
import { createReportCache, type ReportCacheOptions } from '../reports/report-cache.js';
import {
  normalizeReportQuery,
  parseReportQuery,
  resolveReportTenant,
} from '../reports/report-query.js';
import {
  answerReport,
  matchesIfNoneMatch,
  type ReportBody,
  reportEtag,
  reportHeaders,
} from '../reports/report-response.js';
import type { AppContext } from './app-context.js';

/** Options of {@link adminReportRoutes}. */
export interface AdminReportOptions {
  /**
   * Bounds of the in-process cache of finished report bodies.
   * @default { maxEntries: 200, maxBytes: 16_777_216 }
   */
  readonly cache?: ReportCacheOptions;
  /**
   * Rows read per query; a report longer than two pages is streamed and not cached.
   * @default 1000
   */
  readonly pageSize?: number;
}

/** What one report route does between authentication and writing. */
interface ReportKind<Query extends { readonly format: 'json' | 'csv'; readonly tenant?: string }> {
  readonly name: string;
  readonly path: string;
  parse(request: FieldlineRequest): Query;
  deviceOf(query: Query): string | undefined;
  generation(tenant: string, query: Query): Promise<string>;
  body(tenant: string, query: Query): Promise<ReportBody<unknown>>;
}

/**
 * `GET /v1/reports/activity`, `GET /v1/reports/compliance` and `GET /v1/reports/audit`
 * (docs/analytics.md, "Reports API"). The operator names the tenant with `?tenant=`; a tenant
 * token reads its own tenant only (another tenant: 403; another tenant's device: 404). Every
 * answer carries a strong ETag derived from the tenant, the normalized query and a cheap
 * generation read of the data, so `If-None-Match` is answered 304 without reading the report,
 * and finished bodies are kept in a bounded LRU cache under the same key.
 *
 * @param context - the shared context.
 * @param options - cache bounds and page size.
 * @returns the routes.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when a cache bound is
 *   not a positive integer.
 * @example
 * ```ts
 * createFieldlineApp({ db, serverIdentity, adminCredentials, reports: { cache: { maxEntries: 50 } } });
 * ```
 */
export function adminReportRoutes(context: AppContext, options: AdminReportOptions = {}): Route[] {
  const { db } = context;
  const cache = createReportCache(options.cache);
  const pageOptions = options.pageSize === undefined ? {} : { pageSize: options.pageSize };

  function route<Query extends { readonly format: 'json' | 'csv'; readonly tenant?: string }>(
    kind: ReportKind<Query>,
  ): Route {
    return {
      method: 'GET',
      path: kind.path,
      async handle(request): Promise<FieldlineResponse> {
        const admin = context.authenticateAdmin(request);
        const query = kind.parse(request);
        const tenant = resolveReportTenant(admin, query.tenant);
        const device = kind.deviceOf(query);
        if (device !== undefined && (await deviceTenant(db, device)) !== tenant) {
          throw new HttpError('not_found', 'No such device.');
        }
        const generation = await kind.generation(tenant, query);
        const cacheKey = `${kind.name}|${tenant}|${normalizeReportQuery({ ...query, tenant })}|${generation}`;
        const etag = reportEtag(cacheKey);
        if (matchesIfNoneMatch(request, etag)) {
          const { 'content-type': _, ...headers } = reportHeaders(etag, '');
          return { status: 304, headers };
        }
        const cached = cache.get(cacheKey);
        if (cached !== undefined) {
          return {
            status: 200,
            headers: reportHeaders(etag, cached.contentType),
            body: cached.body,
          };
        }
        return answerReport(await kind.body(tenant, query), {
          format: query.format,
          etag,
          cache,
          cacheKey,
        });
      },
    };
  }

  return [
    route({
      name: 'activity',
      path: ROUTES.activityReport,
      parse: (request) => parseReportQuery(request, activityReportQuerySchema),
      deviceOf: (query) => query.device,
      generation: (tenant, query) => activityGeneration(db, tenant, query),
      body: async (tenant, query) => activityReportBody(db, tenant, query, pageOptions),
    }),
    route({
      name: 'compliance',
      path: ROUTES.complianceReport,
      parse: (request) => parseReportQuery(request, complianceReportQuerySchema),
      deviceOf: (query) => query.device,
      generation: (tenant, query) => complianceGeneration(db, tenant, query),
      body: (tenant, query) => complianceReportBody(db, tenant, query),
    }),
    route({
      name: 'audit',
      path: ROUTES.auditReport,
      parse: (request) => parseReportQuery(request, auditReportQuerySchema),
      deviceOf: () => undefined,
      generation: (tenant, query) => auditGeneration(db, tenant, query, pageOptions),
      body: (tenant, query) => auditReportBody(db, tenant, query, pageOptions),
    }),
  ];
}
