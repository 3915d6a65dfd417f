import { type ConsentSnapshot, consentSnapshotSchema } from '@fieldline/core';
import { z } from 'zod';
import { MAX_BUS_PAYLOAD_BYTES } from '../cluster/bus-payload.js';
import { BUS_TOPICS, type ClusterBus } from '../cluster/cluster-bus.js';
import { publishAll } from '../cluster/publish-all.js';

const idSchema = z.string().min(1).max(256);
const atSchema = z.string().min(1).max(64);

// Loose objects: a newer instance may add fields, which older ones pass on untouched.
const adminStreamEventSchema = z.discriminatedUnion('event', [
  z.strictObject({
    event: z.literal('presence'),
    data: z.looseObject({
      deviceId: idSchema,
      tenantId: idSchema,
      online: z.boolean(),
      at: atSchema,
    }),
  }),
  z.strictObject({
    event: z.literal('consent'),
    data: z.looseObject({
      deviceId: idSchema,
      tenantId: idSchema,
      consent: consentSnapshotSchema,
      at: atSchema,
    }),
  }),
  z.strictObject({
    event: z.literal('command'),
    data: z.looseObject({
      id: idSchema,
      deviceId: idSchema,
      tenantId: idSchema,
      type: z.string().min(1).max(128),
      status: z.string().min(1).max(32),
      at: atSchema,
    }),
  }),
  z.strictObject({
    event: z.literal('device'),
    data: z.looseObject({
      deviceId: idSchema,
      tenantId: idSchema,
      change: z.string().min(1).max(64),
      at: atSchema,
    }),
  }),
]);

/** `presence` (docs/protocol.md §4.8): a device went online or offline. */
// Many events in one bus message: a broadcast changes thousands of commands at once, and one
// NOTIFY per event would cost more than the delivery itself.
const adminEventBatchSchema = z.strictObject({ events: z.array(z.unknown()).max(1000) });

// Leaves room for the envelope and one more event's separator.
const BATCH_BUDGET_BYTES = MAX_BUS_PAYLOAD_BYTES - 64;
const encoder = new TextEncoder();

/**
 * Packs admin events into as few bus payloads as fit (`{ events: [...] }`,
 * or the bare event when alone), each under the bus's size limit.
 *
 * @param events - the events, in order.
 * @returns the payloads, in order.
 */
export function packAdminEvents(events: readonly AdminStreamEvent[]): unknown[] {
  const payloads: unknown[] = [];
  let batch: AdminStreamEvent[] = [];
  let bytes = 0;
  const flush = () => {
    if (batch.length === 1) payloads.push(batch[0]);
    else if (batch.length > 1) payloads.push({ events: batch });
    batch = [];
    bytes = 0;
  };
  for (const event of events) {
    const size = encoder.encode(JSON.stringify(event)).byteLength + 1;
    if (batch.length > 0 && (bytes + size > BATCH_BUDGET_BYTES || batch.length === 1000)) flush();
    batch.push(event);
    bytes += size;
  }
  flush();
  return payloads;
}

/**
 * Publishes admin events on the bus, packed ({@link packAdminEvents}), a few
 * messages at a time; failures go to `onError` (the events describe state
 * already stored, so a lost one only delays a dashboard).
 *
 * @param bus - the cluster bus.
 * @param events - the events, in order.
 * @param onError - receives each failed publish.
 */
export function publishAdminEvents(
  bus: ClusterBus,
  events: readonly AdminStreamEvent[],
  onError: (error: unknown) => void,
): Promise<void> {
  return publishAll(bus, BUS_TOPICS.adminEvents, packAdminEvents(events), onError);
}

export interface AdminPresenceEvent {
  readonly event: 'presence';
  readonly data: {
    readonly deviceId: string;
    readonly tenantId: string;
    readonly online: boolean;
    /** When it changed (RFC 3339). */
    readonly at: string;
  };
}

/** `consent` (§4.8): a device's consent changed. */
export interface AdminConsentEvent {
  readonly event: 'consent';
  readonly data: {
    readonly deviceId: string;
    readonly tenantId: string;
    /** The device's consent after the change. */
    readonly consent: ConsentSnapshot;
    /** When it changed (RFC 3339). */
    readonly at: string;
  };
}

/** `command` (§4.8): a command was created or changed status. */
export interface AdminCommandEvent {
  readonly event: 'command';
  readonly data: {
    /** The command id. */
    readonly id: string;
    readonly deviceId: string;
    readonly tenantId: string;
    /** The command type, e.g. `consent.withdrawn`. */
    readonly type: string;
    /** The command status (`pending`, `sent`, `acked`, …). */
    readonly status: string;
    /** When it changed (RFC 3339). */
    readonly at: string;
  };
}

/** What changed in a device's standing, in an {@link AdminDeviceEvent}. */
export type DeviceStandingChange =
  | 'revoked'
  | 'clone_suspected'
  | 'released'
  | 'rotation_required'
  | 'keys_rotated';

/**
 * `device` (§4.8): a device's standing changed: revoked, quarantined as a suspected clone,
 * released from quarantine, told to rotate its keys, or rotated them.
 */
export interface AdminDeviceEvent {
  readonly event: 'device';
  readonly data: {
    readonly deviceId: string;
    readonly tenantId: string;
    readonly change: DeviceStandingChange;
    /** When it changed (RFC 3339). */
    readonly at: string;
  };
}

/** One event of the admin stream (`GET /v1/admin/stream`, docs/protocol.md §4.8). */
export type AdminStreamEvent =
  | AdminPresenceEvent
  | AdminConsentEvent
  | AdminCommandEvent
  | AdminDeviceEvent;

/** The name of an {@link AdminStreamEvent} (its SSE `event:` field). */
export type AdminStreamEventName = AdminStreamEvent['event'];

/** Which events a subscriber receives. */
export interface AdminEventFilter {
  /** Only this tenant's events; `null` (the operator) receives every tenant's. */
  readonly tenant: string | null;
}

/** Receives the events of one subscription; must not throw. */
export type AdminEventListener = (event: AdminStreamEvent) => void;

/**
 * The admin events of every instance, fanned out to this instance's
 * subscribers (the streams of `GET /v1/admin/stream`). It listens to the bus
 * topic `fieldline_admin_events` once, however many subscribers there are.
 */
export interface AdminEventHub {
  /**
   * Sends an event to the subscribers of every instance (this one included),
   * through the bus.
   *
   * @param event - the event.
   * @returns when the bus took it.
   * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} (rejects) when the
   *   event is over the bus's payload limit.
   * @example
   * ```ts
   * await hub.publish({ event: 'presence', data: { deviceId, tenantId, online: true, at } });
   * ```
   */
  publish(event: AdminStreamEvent): Promise<void>;
  /**
   * Receives the events the filter lets through.
   *
   * @param filter - the tenant to follow, or `null` for all.
   * @param listener - called per event.
   * @param onClose - called if the hub closes while subscribed (the server is stopping), or
   *   when the bus was deaf for a while and events may have been missed (the subscriber
   *   re-reads current state).
   * @returns a function that ends the subscription (idempotent).
   * @example
   * ```ts
   * const stop = hub.subscribe({ tenant: 'acme' }, (event) => send(event));
   * ```
   */
  subscribe(
    filter: AdminEventFilter,
    listener: AdminEventListener,
    onClose?: () => void,
  ): () => void;
  /**
   * Subscriptions open now.
   *
   * @returns the count.
   */
  subscriberCount(): number;
  /**
   * Bus messages dropped because they were not a valid {@link AdminStreamEvent}.
   *
   * @returns the count since the hub was created.
   */
  invalidCount(): number;
  /** Stops listening to the bus and ends every subscription (calling its `onClose`). */
  close(): void;
}

interface Subscription {
  readonly tenant: string | null;
  readonly listener: AdminEventListener;
  readonly onClose: (() => void) | undefined;
}

/**
 * Creates the hub behind the admin stream. Bus messages that are not valid
 * admin events are dropped and counted ({@link AdminEventHub.invalidCount}),
 * never passed on.
 *
 * @param bus - the cluster bus.
 * @returns the hub.
 * @example
 * ```ts
 * const hub = createAdminEventHub(bus);
 * const stop = hub.subscribe({ tenant: null }, (event) => console.log(event.event, event.data));
 * ```
 */
export function createAdminEventHub(bus: ClusterBus): AdminEventHub {
  const subscriptions = new Set<Subscription>();
  let invalid = 0;
  let closed = false;
  const unsubscribeBus = bus.subscribe(BUS_TOPICS.adminEvents, (payload) => {
    const batch = adminEventBatchSchema.safeParse(payload);
    const candidates: unknown[] = batch.success ? batch.data.events : [payload];
    for (const candidate of candidates) {
      const parsed = adminStreamEventSchema.safeParse(candidate);
      if (!parsed.success) {
        invalid += 1;
        continue;
      }
      const event = parsed.data as AdminStreamEvent;
      for (const subscription of [...subscriptions]) {
        if (subscription.tenant !== null && subscription.tenant !== event.data.tenantId) continue;
        try {
          subscription.listener(event);
        } catch {
          // One broken subscriber must not keep the event from the others.
        }
      }
    }
  });
  // Events published while the bus was deaf are lost to these streams: end them, so
  // dashboards reconnect and re-read current state, as after a slow-reader disconnect (§4.8).
  const endAll = (): void => {
    const ending = [...subscriptions];
    subscriptions.clear();
    for (const subscription of ending) subscription.onClose?.();
  };
  const unsubscribeReconnect = bus.onReconnect?.(endAll) ?? (() => undefined);
  return {
    publish: (event) => bus.publish(BUS_TOPICS.adminEvents, event),
    subscribe(filter, listener, onClose) {
      const subscription: Subscription = { tenant: filter.tenant, listener, onClose };
      if (closed) {
        onClose?.();
        return () => undefined;
      }
      subscriptions.add(subscription);
      return () => {
        subscriptions.delete(subscription);
      };
    },
    subscriberCount: () => subscriptions.size,
    invalidCount: () => invalid,
    close() {
      if (closed) return;
      closed = true;
      unsubscribeBus();
      unsubscribeReconnect();
      endAll();
    },
  };
}
