import { z } from 'zod';

/**
 * The `events.ingested` payload as the analytics consumer trusts it (written by
 * store-events as an `EventsIngestedMessage`; re-checked because the stream is a boundary:
 * another writer, an older version or a hand-edited row can put anything there).
 * @internal
 */
export const eventsIngestedSchema = z.object({
  deviceId: z.string().min(1).max(200),
  tenantId: z.string().min(1).max(200),
  batchId: z.string().min(1).max(200),
  receivedAt: z.iso.datetime({ offset: true }),
  count: z.number().int().nonnegative(),
  ids: z.array(z.uuid()).max(10_000).optional(),
});
