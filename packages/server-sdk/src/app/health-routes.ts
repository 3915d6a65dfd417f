import { ROUTES } from '@fieldline/core';
import { sql } from 'kysely';
import { HttpError } from '../http/http-error.js';
import { json } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

/**
 * `/healthz` (the process answers) and `/readyz` (the database answers too).
 *
 * @param context - the database.
 */
export function healthRoutes(context: AppContext): Route[] {
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
        return json(200, { status: 'ready' });
      },
    },
  ];
}
