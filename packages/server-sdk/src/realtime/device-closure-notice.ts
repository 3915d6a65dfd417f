import { z } from 'zod';

const deviceClosureNoticeSchema = z.object({
  deviceId: z.string().min(1).max(256),
  closeCode: z.number().int().min(4000).max(4999),
  /** The refusal code, sent in the `error` frame before the close and used as its reason. */
  reason: z.enum(['device_revoked', 'device_quarantined', 'key_rotation_required']),
});

/**
 * "Close every socket of this device, with this code": sent on `fieldline_closures` when a
 * device is revoked, quarantined or told to rotate its keys (docs/protocol.md §4.9).
 */
export type DeviceClosureNotice = z.infer<typeof deviceClosureNoticeSchema>;

/**
 * Reads a `fieldline_closures` notice.
 *
 * @param payload - the bus payload.
 * @returns the notice, or undefined when malformed.
 */
export function parseDeviceClosureNotice(payload: unknown): DeviceClosureNotice | undefined {
  const parsed = deviceClosureNoticeSchema.safeParse(payload);
  return parsed.success ? parsed.data : undefined;
}
