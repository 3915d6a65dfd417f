import { ROUTES } from '@fieldline/core';
import { sql } from 'kysely';
import { HttpError } from '../http/http-error.js';
import { json } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

/** What a readiness check found (see {@link ReadyCheck}). */
export interface ReadyCheckResult {
  /**
   * `ok`, or `degraded`: the part is down but the instance still does its main job (accepts
   * ingestion), so `/readyz` keeps answering 200 and only reports it.
   */
  readonly status: 'ok' | 'degraded';
  /** Figures for operators, e.g. `{ connected: false, unpublished: 120 }`. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * A readiness check beside the database's, reported by `/readyz` under its name. A check that
 * throws is reported `degraded` with its message.
 *
 * @example
 * ```ts
 * const stream: ReadyCheck = async () => ({ status: 'ok', details: await relay.status() });
 * ```
 */
export type ReadyCheck = () => Promise<ReadyCheckResult>;

async function runCheck(check: ReadyCheck): Promise<Record<string, unknown>> {
  try {
    const { status, details } = await check();
    return { ...details, status };
  } catch (error) {
    return { status: 'degraded', error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * `/healthz` (the process answers) and `/readyz` (the database answers too; extra checks are
 * listed under `checks` and never turn a ready instance away, see {@link ReadyCheckResult}).
 *
 * @param context - the database.
 * @param readyChecks - extra checks by name.
 */
export function healthRoutes(
  context: AppContext,
  readyChecks: Readonly<Record<string, ReadyCheck>> = {},
): Route[] {
  const names = Object.keys(readyChecks);
  return [
    { method: 'GET', path: ROUTES.health, handle: async () => json(200, { status: 'ok' }) },
    {
      method: 'GET',
      path: ROUTES.ready,
      async handle() {
        try {
          await sql`select 1`.execute(context.db);
        } catch (error) {
          throw new HttpError('unavailable', 'The database is not answering.', {
            headers: { 'retry-after': '5' },
            cause: error,
          });
        }
        if (names.length === 0) return json(200, { status: 'ready' });
        const results = await Promise.all(
          names.map(async (name) => [name, await runCheck(readyChecks[name] as ReadyCheck)]),
        );
        return json(200, { status: 'ready', checks: Object.fromEntries(results) });
      },
    },
  ];
}
