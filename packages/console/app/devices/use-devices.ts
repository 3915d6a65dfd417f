import { useCallback, useEffect, useState } from 'react';
import { type DeviceRow, listDevices } from '../api/admin-api.js';
import { describeError } from '../api/api-error.js';
import { ROUTES } from '../api/schemas.js';

/** The device list, kept live by the admin event stream. */
export interface DevicesState {
  readonly devices: readonly DeviceRow[];
  readonly error: string | undefined;
  readonly loading: boolean;
  /** Whether the live stream is connected (presence changes arrive as they happen). */
  readonly live: boolean;
  /** Reloads the list (after an enrollment, say). */
  reload(): void;
}

interface PresenceData {
  readonly deviceId: string;
  readonly online: boolean;
  readonly at: string;
}

function isPresence(value: unknown): value is PresenceData {
  if (typeof value !== 'object' || value === null) return false;
  const data = value as Record<string, unknown>;
  return (
    typeof data.deviceId === 'string' &&
    typeof data.online === 'boolean' &&
    typeof data.at === 'string'
  );
}

/**
 * Lists the devices and follows `GET /v1/admin/stream`: a presence event flips one row online
 * or offline in place; an event about a device not listed yet (one just enrolled) reloads the
 * list.
 *
 * @returns the list and its state.
 */
export function useDevices(): DevicesState {
  const [devices, setDevices] = useState<readonly DeviceRow[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState(false);
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` is the reload trigger.
  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    listDevices().then(
      (list) => {
        if (cancelled) return;
        setDevices(list);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (cancelled) return;
        setError(describeError(failure));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [generation]);

  useEffect(() => {
    // Same origin, so the session cookie goes with it; EventSource reconnects by itself.
    const source = new EventSource(ROUTES.adminStream);
    // Reloading on (re)connect covers whatever changed while the stream was not listening.
    source.onopen = () => {
      setLive(true);
      reload();
    };
    source.onerror = () => setLive(false);
    source.addEventListener('presence', (message) => {
      let data: unknown;
      try {
        data = JSON.parse((message as MessageEvent<string>).data);
      } catch {
        return;
      }
      if (!isPresence(data)) return;
      const presence = data;
      setDevices((current) => {
        const index = current.findIndex((device) => device.id === presence.deviceId);
        if (index === -1) {
          reload();
          return current;
        }
        const next = [...current];
        const device = current[index] as DeviceRow;
        next[index] = { ...device, online: presence.online, lastSeen: presence.at };
        return next;
      });
    });
    source.addEventListener('device', () => reload());
    return () => source.close();
  }, [reload]);

  return { devices, error, loading, live, reload };
}
