import { z } from 'zod';

/**
 * A `fieldline_commands` bus payload (docs/protocol.md §4.9): one device has
 * new commands (`{ deviceId }`), or several have (`{ deviceIds }`, sent by
 * broadcasts so 10 000 devices take a few dozen messages, not 10 000).
 */
export type CommandNotice = { readonly deviceId: string } | { readonly deviceIds: string[] };

/**
 * The largest encoded notice {@link commandNotices} builds, in bytes:
 * PostgreSQL's NOTIFY refuses payloads of 8000 bytes or more, and the bus
 * contract asks for at most 7 KB.
 */
export const MAX_COMMAND_NOTICE_BYTES = 7000;

// Ids are server-minted and short, but the bound keeps a hostile payload from costing much.
// Matches the schema's cap, so every notice built here also parses.
const MAX_IDS_PER_NOTICE = 1000;
const noticeIdSchema = z.string().min(1).max(128);
const commandNoticeSchema = z.union([
  z.object({ deviceId: noticeIdSchema }),
  z.object({ deviceIds: z.array(noticeIdSchema).min(1).max(MAX_IDS_PER_NOTICE) }),
]);

/**
 * Reads a `fieldline_commands` payload. Either shape is accepted; anything
 * else (a payload from a newer or broken instance) names no device.
 *
 * @param payload - the payload as the bus delivered it.
 * @returns the ids of the devices that have new commands; empty when the payload is malformed.
 * @example
 * ```ts
 * bus.subscribe(BUS_TOPICS.commands, (payload) => {
 *   for (const deviceId of parseCommandNotice(payload)) deliverIfConnected(deviceId);
 * });
 * ```
 */
export function parseCommandNotice(payload: unknown): string[] {
  const parsed = commandNoticeSchema.safeParse(payload);
  if (!parsed.success) return [];
  return 'deviceId' in parsed.data ? [parsed.data.deviceId] : [...new Set(parsed.data.deviceIds)];
}

/**
 * Packs device ids into as few notices as fit: one `{ deviceId }` for a
 * single device, else `{ deviceIds }` payloads of at most
 * {@link MAX_COMMAND_NOTICE_BYTES} encoded bytes each.
 *
 * @param deviceIds - the devices with new commands.
 * @param maxBytes - the size cap of one encoded notice.
 * @returns the notices to publish, in order.
 * @example
 * ```ts
 * for (const notice of commandNotices(ids)) await bus.publish(BUS_TOPICS.commands, notice);
 * ```
 */
export function commandNotices(
  deviceIds: readonly string[],
  maxBytes: number = MAX_COMMAND_NOTICE_BYTES,
): CommandNotice[] {
  const unique = [...new Set(deviceIds)];
  if (unique.length === 0) return [];
  if (unique.length === 1) return [{ deviceId: unique[0] as string }];
  const notices: CommandNotice[] = [];
  const encoder = new TextEncoder();
  const emptyBytes = encoder.encode(JSON.stringify({ deviceIds: [] })).length;
  let chunk: string[] = [];
  let bytes = emptyBytes;
  for (const id of unique) {
    // The id's JSON text, plus the comma before it unless it opens the list.
    const idBytes = encoder.encode(JSON.stringify(id)).length;
    if (
      chunk.length > 0 &&
      (bytes + 1 + idBytes > maxBytes || chunk.length === MAX_IDS_PER_NOTICE)
    ) {
      notices.push({ deviceIds: chunk });
      chunk = [];
      bytes = emptyBytes;
    }
    bytes += idBytes + (chunk.length === 0 ? 0 : 1);
    chunk.push(id);
  }
  notices.push({ deviceIds: chunk });
  return notices;
}
