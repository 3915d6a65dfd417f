import {
  type EventBatch,
  type EventEnvelope,
  type EventsResponse,
  InvalidArgumentError,
  type OpenedJsonMessage,
} from '@fieldline/core';

/** The authenticated device a request comes from, as the device-auth layer resolved it. */
export interface IngestionDevice {
  /** The device id; a sealed frame's sender id must equal it. */
  readonly id: string;
  /** The device's tenant; stored with every event. */
  readonly tenantId: string;
  /** The device's Ed25519 public key, unpadded base64url; it must have signed the frame. */
  readonly signingPublicKey: string;
}

/** What the HTTP route hands to {@link runIngestion}. */
export interface IngestionInput {
  /** The already-authenticated device. */
  readonly device: IngestionDevice;
  /** The raw request body (after any gzip decoding): JSON `{ "sealed": "…" }`. */
  readonly rawBody: Uint8Array;
  /**
   * When the server received the request; stored as `received_at`.
   * @default new Date() when the context is created
   */
  readonly receivedAt?: Date;
}

/**
 * `POST /v1/events`'s response without `consent` and `commands`, which the route adds.
 */
export type IngestionResult = Omit<EventsResponse, 'consent' | 'commands'>;

/** Where one event of a batch stands; every entry ends `accepted`, `duplicate` or `rejected`. */
export type IngestionEntryStatus = 'pending' | 'accepted' | 'duplicate' | 'rejected';

/** An event ready to store: the validated envelope plus what the server knows about it. */
export interface EnrichedEvent {
  /** Event id, lower-cased (ids compare case-insensitively, as PostgreSQL's uuid does). */
  readonly id: string;
  /** Tenant of the sending device. */
  readonly tenantId: string;
  /** The sending device. */
  readonly deviceId: string;
  /** Registered event type. */
  readonly type: string;
  /** Consent scope of the type. */
  readonly scope: string;
  /** Per-device sequence number. */
  readonly seq: number;
  /** When it happened on the device, RFC 3339. */
  readonly occurredAt: string;
  /** When the server received it. */
  readonly receivedAt: Date;
  /** The event data; enrichment steps may add keys (it is a copy of the validated data). */
  data: Record<string, unknown>;
}

/** One element of the batch's `events` array, followed through the steps. */
export interface IngestionEntry {
  /** Position in the batch; results are returned in this order. */
  readonly index: number;
  /**
   * The element's id if it has a readable one (a string of at most 128 characters), else `""`.
   * An element whose id is `""` can only be rejected; the client matches it by position.
   */
  readonly id: string;
  /** The element as received (untrusted). */
  readonly input: unknown;
  /** Where it stands; steps move it from `pending` to a final status. */
  status: IngestionEntryStatus;
  /** Why it was rejected, when `status` is `rejected`. */
  rejection?: { readonly code: string; readonly message: string };
  /** The validated envelope (set by the validate step). */
  event?: EventEnvelope<string, object>;
  /** The row to store (set by the enrich step). */
  enriched?: EnrichedEvent;
}

/**
 * The state one request carries through the pipeline. Built-in steps fill it in order:
 * `message` (open), `batch` and `entries` (parse), entry statuses (validate, consent, dedup),
 * `enriched` (enrich), `committed` (store), `response` (results). Custom steps may read all of
 * it and keep their own state in `locals`.
 */
export interface IngestionContext {
  /** The authenticated device. */
  readonly device: IngestionDevice;
  /** The raw request body. */
  readonly rawBody: Uint8Array;
  /** When the request was received. */
  readonly receivedAt: Date;
  /** The opened, authenticated frame (payload still unvalidated). */
  message?: OpenedJsonMessage;
  /** The parsed batch. */
  batch?: EventBatch;
  /** One entry per element of `batch.events`, in order. */
  entries: IngestionEntry[];
  /** True once the store step's transaction committed. */
  committed: boolean;
  /** How many events the store step newly stored. */
  storedCount: number;
  /** The answer, set by the results step. */
  response?: IngestionResult;
  /** Free space for custom steps, keyed by the step's own names. */
  readonly locals: Map<string, unknown>;
}

/**
 * Creates the context of one request.
 *
 * @param input - device, body and receive time.
 * @returns a fresh context.
 * @example
 * ```ts
 * const ctx = createIngestionContext({ device, rawBody });
 * await pipeline.run(ctx);
 * ```
 */
export function createIngestionContext(input: IngestionInput): IngestionContext {
  return {
    device: input.device,
    rawBody: input.rawBody,
    receivedAt: input.receivedAt ?? new Date(),
    entries: [],
    committed: false,
    storedCount: 0,
    locals: new Map(),
  };
}

/**
 * Marks an entry rejected.
 *
 * @param entry - a pending entry.
 * @param code - a stable code, e.g. `invalid_event` or `consent_required`.
 * @param message - what is wrong, for a person (cut to 4096 characters).
 * @example
 * ```ts
 * for (const entry of pendingEntries(ctx)) if (blocked(entry)) rejectEntry(entry, 'forbidden', 'Blocked type.');
 * ```
 */
export function rejectEntry(entry: IngestionEntry, code: string, message: string): void {
  entry.status = 'rejected';
  entry.rejection = { code: code.slice(0, 64), message: message.slice(0, 4096) };
}

/**
 * The entries still `pending`, in batch order.
 *
 * @param ctx - the request context.
 * @returns the entries no step has settled yet.
 */
export function pendingEntries(ctx: IngestionContext): IngestionEntry[] {
  return ctx.entries.filter((entry) => entry.status === 'pending');
}

/**
 * The parsed batch, for steps that must run after the parse step.
 *
 * @param ctx - the request context.
 * @param stepName - the caller, named in the error.
 * @returns `ctx.batch` and the opened message.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when the batch is not
 *   parsed yet: the step list is in the wrong order (a programmer error).
 */
export function requireBatch(
  ctx: IngestionContext,
  stepName: string,
): { batch: EventBatch; message: OpenedJsonMessage } {
  if (ctx.batch === undefined || ctx.message === undefined) {
    throw new InvalidArgumentError(
      `Ingestion step "${stepName}" needs the parsed batch; place it after "parse-batch".`,
    );
  }
  return { batch: ctx.batch, message: ctx.message };
}
