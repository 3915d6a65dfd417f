import type { DeviceActivityEvent } from '../../src/analytics/activity-row.js';

/** A valid UUIDv7 made from a number, so tests can name events. */
export function eventId(n: number): string {
  return `0190a000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

let counter = 1;

/** Builds a device event; `id` and `seq` default to a fresh counter. */
export function ev(
  type: string,
  occurredAt: string | number,
  data: Record<string, unknown>,
  extra: { deviceId?: string; id?: number; seq?: number } = {},
): DeviceActivityEvent {
  const n = extra.id ?? counter++;
  return {
    deviceId: extra.deviceId ?? 'dev-1',
    event: {
      id: eventId(n),
      type,
      occurredAt: typeof occurredAt === 'number' ? new Date(occurredAt).toISOString() : occurredAt,
      seq: extra.seq ?? n,
      scope: type === 'activity.network.volume' ? 'network' : 'activity',
      data,
    },
  };
}

export const MIN = 60_000;
export const HOUR = 60 * MIN;
