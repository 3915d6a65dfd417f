// Shared by the event stream suites (embedded, JetStream, relay): outbox rows appended as
// ingestion would write them, and a wait for a condition with a deadline.
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';

/** Appends `count` `events.ingested` rows for `tenant`; returns their seqs in order. */
export async function append(
  db: Kysely<FieldlineDatabase>,
  count: number,
  createdAt?: string,
  tenant = 'acme',
): Promise<number[]> {
  const seqs: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const row = await db
      .insertInto('outbox')
      .values({
        tenant_id: tenant,
        topic: 'events.ingested',
        payload: JSON.stringify({ batchId: `b-${index}` }),
        ...(createdAt === undefined ? {} : { created_at: createdAt }),
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    seqs.push(row.seq);
  }
  return seqs;
}

/** Waits until `condition` holds, polling every 10 ms; fails naming `what` after 20 s. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
