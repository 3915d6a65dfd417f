import type { JobReport } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * Stores a job report once: its `id` is the idempotency key, so a report the
 * agent resends from its spool is answered `duplicate` and not stored twice.
 *
 * @param db - the database.
 * @param device - the reporting device.
 * @param report - the validated report.
 * @param receivedAt - when the server received it.
 * @returns whether it was newly stored.
 */
export async function storeReport(
  db: Kysely<FieldlineDatabase>,
  device: { readonly id: string; readonly tenantId: string },
  report: JobReport,
  receivedAt: Date,
): Promise<'accepted' | 'duplicate'> {
  const inserted = await db
    .insertInto('reports')
    .values({
      id: report.id,
      tenant_id: device.tenantId,
      device_id: device.id,
      job: report.job,
      status: report.status,
      started_at: report.startedAt,
      finished_at: report.finishedAt,
      duration_ms: report.durationMs,
      metrics: JSON.stringify(report.metrics),
      error: report.error === undefined ? null : JSON.stringify(report.error),
      received_at: receivedAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted === undefined ? 'duplicate' : 'accepted';
}

/**
 * The latest job reports of a device, newest first.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @param limit - at most this many.
 */
export async function listDeviceReports(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  limit: number,
) {
  const rows = await db
    .selectFrom('reports')
    .selectAll()
    .where('device_id', '=', deviceId)
    .orderBy('received_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    job: row.job,
    status: row.status,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at.toISOString(),
    durationMs: row.duration_ms,
    metrics: row.metrics,
    ...(row.error === null ? {} : { error: row.error }),
    receivedAt: row.received_at.toISOString(),
  }));
}
