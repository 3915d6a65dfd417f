import { z } from 'zod';

const sessionNoticeSchema = z.object({
  deviceId: z.string().min(1),
  instanceId: z.string().min(1),
  connectionId: z.string().min(1),
});

/** A device authenticated on some instance over a given connection. */
export type SessionNotice = z.infer<typeof sessionNoticeSchema>;

/**
 * Reads a `fieldline_sessions` notice.
 *
 * @param payload - the bus payload.
 * @returns the notice, or undefined when malformed.
 */
export function parseSessionNotice(payload: unknown): SessionNotice | undefined {
  const parsed = sessionNoticeSchema.safeParse(payload);
  return parsed.success ? parsed.data : undefined;
}
