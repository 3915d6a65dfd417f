import { ROUTES } from '@fieldline/core';
import { type DeadLetterStatusFilter, listDeadLetters } from '../dead-letters/list-dead-letters.js';
import { replayDeadLetter } from '../dead-letters/replay-dead-letter.js';
import { HttpError } from '../http/http-error.js';
import { json } from '../http/json-body.js';
import type { FieldlineRequest, Route } from '../http/types.js';
import type { IngestionPipeline } from '../ingestion/pipeline.js';
import type { AppContext } from './app-context.js';

const STATUSES: readonly DeadLetterStatusFilter[] = ['new', 'replaying', 'replayed', 'failed'];
// Ids and cursors are dead letter sequence numbers: plain decimal, no sign, no exponent.
const DECIMAL = /^[1-9][0-9]{0,15}$/;

function decimalParam(value: string, name: string): number {
  const number = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number)) {
    throw new HttpError('invalid_request', `${name} must be a positive decimal integer.`);
  }
  return number;
}

function textParam(request: FieldlineRequest, name: string): string | undefined {
  const value = request.query.get(name);
  if (value === null) return undefined;
  if (value.length > 1000 || value.includes('\u0000')) {
    throw new HttpError('invalid_request', `${name} must be at most 1000 characters of text.`);
  }
  return value;
}

/**
 * `GET /v1/admin/dead-letters` (filters `device`, `reason` (contained, case-insensitive),
 * `status`; pages with `cursor` and `limit`) and `POST /v1/admin/dead-letters/:id/replay`.
 * A tenant admin sees and replays its tenant's dead letters only; another tenant's id is 404.
 *
 * @param context - the shared context.
 * @param ingestion - the pipeline replays resume.
 * @returns the routes.
 */
export function adminDeadLetterRoutes(context: AppContext, ingestion: IngestionPipeline): Route[] {
  const { db, clock, authenticateAdmin } = context;
  return [
    {
      method: 'GET',
      path: ROUTES.adminDeadLetters,
      async handle(request) {
        const admin = authenticateAdmin(request);
        const cursor = request.query.get('cursor');
        const limit = request.query.get('limit');
        const status = request.query.get('status');
        if (status !== null && !STATUSES.includes(status as DeadLetterStatusFilter)) {
          throw new HttpError('invalid_request', `status must be one of ${STATUSES.join(', ')}.`);
        }
        const deviceId = textParam(request, 'device');
        const reason = textParam(request, 'reason');
        const page = await listDeadLetters(db, {
          tenantId: admin.tenant,
          ...(deviceId === undefined ? {} : { deviceId }),
          ...(reason === undefined ? {} : { reason }),
          ...(status === null ? {} : { status: status as DeadLetterStatusFilter }),
          ...(cursor === null ? {} : { afterSeq: decimalParam(cursor, 'cursor') }),
          ...(limit === null ? {} : { limit: decimalParam(limit, 'limit') }),
        });
        return json(200, page);
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminDeadLetterReplay,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const id = params.id ?? '';
        // An id that cannot exist is the same answer as one that does not.
        if (!DECIMAL.test(id)) throw new HttpError('not_found', 'No such dead letter.');
        return json(200, await replayDeadLetter(db, ingestion, Number(id), { admin, clock }));
      },
    },
  ];
}
