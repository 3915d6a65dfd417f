import { z } from 'zod';

const deviceClosureNoticeSchema = z.object({
  deviceId: z.string().min(1).max(256),
  closeCode: z.number().int().min(4000).max(4999),
  /** The refusal code, sent in the `error` frame before the close and used as its reason. */
  reason: z.enum(['device_revoked', 'device_quarantined', 'key_rotation_required', 'keys_rotated']),
  /** Spares connections authenticated with this signing key (the new one, after a rotation). */
  exceptSigningPublicKey: z.string().min(1).max(64).optional(),
});

/**
 * "Close every socket of this device, with this code": sent on `fieldline_closures` when a
 * device is revoked, quarantined, told to rotate its keys, or rotated them (docs/protocol.md
 * §4.9). `keys_rotated` closes with 4401 and does not refuse the device: it says hello again
 * with its new key.
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
