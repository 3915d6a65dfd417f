import type { OutboxRelayStatus } from '@fieldline/server-sdk';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One finished HTTP request, as the request instrumentation reports it. */
export interface RequestSample {
  /** Upper-case method; anything outside the standard set is counted as `OTHER`. */
  readonly method: string;
  /** The matched route pattern (e.g. `/v1/admin/devices/:id`), or `unmatched`. Never a raw path. */
  readonly route: string;
  /** The response status, or `aborted` when the client went away first. */
  readonly status: number | 'aborted';
  /** Time from the request's arrival to the end of the response, in milliseconds. */
  readonly durationMs: number;
}

/**
 * The per-batch counts the ingestion pipeline reports; typed by the fields used, so any
 * summary object with them (such as server-sdk's ingestion summary) can be passed as is.
 */
export interface IngestionCounts {
  /** Events newly stored. */
  readonly accepted: number;
  /** Events already stored (or repeated in the batch). */
  readonly duplicates: number;
  /** Rejected events by rejection code. */
  readonly rejectedByCode: Readonly<Record<string, number>>;
  /** Events the agent reports it dropped before sending, by reason. */
  readonly agentDrops?: Readonly<Record<string, number>>;
}

/**
 * How far one durable stream consumer is behind; typed by the fields used, so server-sdk's
 * `StreamLag` (from `AnalyticsConsumer.lag()` or `EventStream.lag()`) can be passed as is.
 */
export interface ConsumerLagSample {
  /** The consumer's durable name (the `consumer` label). */
  readonly consumer: string;
  /** Records in the stream after its position. */
  readonly records: number;
  /** Age of the oldest of those records, in ms (0 when there is none). */
  readonly oldestAgeMs: number;
}

/** Options of {@link createServerMetrics}. */
export interface ServerMetricsOptions {
  /**
   * Collect Node.js process metrics (CPU, memory, event loop lag, GC) too.
   * @default true
   */
  readonly processMetrics?: boolean;
  /**
   * Histogram bucket bounds for request latency, in seconds.
   * @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  readonly latencyBucketsSeconds?: readonly number[];
}

/**
 * The server's Prometheus metrics, in a registry of their own (never prom-client's
 * global one, so several servers in one process, as in tests, do not collide).
 *
 * The `events…` methods are the hook for the ingestion pipeline: it calls them
 * once per batch with the counts of its per-event results.
 */
export interface ServerMetrics {
  /** The registry every metric here lives in; register more metrics in it if needed. */
  readonly registry: Registry;
  /** The content type of {@link ServerMetrics.render}'s output (Prometheus text 0.0.4). */
  readonly contentType: string;
  /**
   * Records one HTTP request in `fieldline_http_request_duration_seconds` and
   * `fieldline_http_requests_total`.
   *
   * @param sample - method, route pattern, status and duration.
   */
  observeRequest(sample: RequestSample): void;
  /**
   * Adds to `fieldline_events_ingested_total` (events accepted and stored).
   *
   * @param count - how many; defaults to 1.
   */
  eventsIngested(count?: number): void;
  /**
   * Adds to `fieldline_events_duplicate_total` (events already stored, acknowledged again).
   *
   * @param count - how many; defaults to 1.
   */
  eventsDuplicate(count?: number): void;
  /**
   * Adds to `fieldline_events_rejected_total{code}`.
   *
   * @param code - the rejection code from the protocol's fixed list (never free text,
   *   which would make the label set unbounded).
   * @param count - how many; defaults to 1.
   */
  eventsRejected(code: string, count?: number): void;
  /**
   * Adds one batch's counts to the three `fieldline_events_…` counters at once: the hook to
   * pass as the app's per-batch ingestion callback.
   *
   * @param counts - accepted, duplicates and rejections by code.
   */
  recordIngestion(counts: IngestionCounts): void;
  /**
   * Reports the database pool's figures as `fieldline_db_pool_connections`.
   *
   * @param source - read at every scrape.
   */
  observePool(source: () => { total: number; idle: number; waiting: number }): void;
  /**
   * Reports stream consumers' lag as `fieldline_stream_consumer_lag_records{consumer}` and
   * `fieldline_stream_consumer_lag_seconds{consumer}` (the age of the oldest record not yet
   * handled). When the source fails (the database is down), the scrape goes on without them.
   *
   * @param source - read at every scrape; one sample per consumer.
   */
  observeConsumerLag(source: () => Promise<readonly ConsumerLagSample[]>): void;
  /**
   * Reports the outbox relay's backlog and connection as `fieldline_outbox_unpublished`,
   * `fieldline_outbox_oldest_unpublished_seconds` and `fieldline_stream_connected` (servers
   * and workers on NATS; the embedded stream has no relay).
   *
   * @param source - read at every scrape.
   */
  observeOutboxRelay(source: () => Promise<OutboxRelayStatus>): void;
  /**
   * Reports the authenticated sockets of this instance as `fieldline_realtime_connections`.
   *
   * @param source - read at every scrape.
   */
  observeRealtimeConnections(source: () => number): void;
  /**
   * Counts a closed real-time connection in `fieldline_realtime_closed_total{code,initiator}`.
   *
   * @param code - the close code of the side that closed first: the one the server sent when
   *   it closed (hello timeout, oversized frame, protocol violation…), even if the peer never
   *   answered; else the one the peer sent (1006 when none).
   * @param initiator - which side closed first.
   * @default initiator 'client'
   */
  recordRealtimeClose(code: number, initiator?: 'server' | 'client'): void;
  /**
   * Counts an upgrade refused before it became a socket in
   * `fieldline_realtime_handshakes_refused_total{reason}`.
   *
   * @param reason - `source_full` (429) or `server_full` (503).
   */
  recordHandshakeRefused(reason: 'source_full' | 'server_full'): void;
  /**
   * Records a finished retention run: `fieldline_retention_last_run_timestamp_seconds` and
   * `fieldline_events_partitions` (day partitions of `events` after it).
   *
   * @param run - when it ran (ms since the epoch) and the partitions it left.
   */
  recordRetentionRun(run: { readonly ranAtMs: number; readonly partitions: number }): void;
  /**
   * Renders every metric in the Prometheus text exposition format.
   *
   * @returns the `/metrics` body.
   */
  render(): Promise<string>;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Creates the server's metrics: request latency and counts by route and
 * status, the ingestion counters, and (by default) Node.js process metrics.
 *
 * @param options - process metrics on or off, latency buckets.
 * @returns the metrics and their registry.
 * @example
 * ```ts
 * const metrics = createServerMetrics();
 * metrics.eventsRejected('no_consent', 3);
 * const text = await metrics.render();
 * ```
 */
export function createServerMetrics(options: ServerMetricsOptions = {}): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const duration = new Histogram({
    name: 'fieldline_http_request_duration_seconds',
    help: 'HTTP request latency, from arrival to the end of the response, by route and status.',
    labelNames,
    buckets: [...(options.latencyBucketsSeconds ?? DEFAULT_BUCKETS)],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'fieldline_http_requests_total',
    help: 'HTTP requests answered, by route and status.',
    labelNames,
    registers: [registry],
  });
  const ingested = new Counter({
    name: 'fieldline_events_ingested_total',
    help: 'Events accepted and stored.',
    registers: [registry],
  });
  const duplicate = new Counter({
    name: 'fieldline_events_duplicate_total',
    help: 'Events received again after they were stored; acknowledged, not stored twice.',
    registers: [registry],
  });
  const agentDropped = new Counter({
    name: 'fieldline_agent_events_dropped_total',
    help: 'Events agents report they dropped before sending (no consent, invalid, overflow, spool trimmed, rejected), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'fieldline_events_rejected_total',
    help: 'Events rejected, by rejection code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  let poolSource: (() => { total: number; idle: number; waiting: number }) | undefined;
  new Gauge({
    name: 'fieldline_db_pool_connections',
    help: 'Database pool connections by state (open, idle, waiting requests).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (poolSource === undefined) return;
      const stats = poolSource();
      this.set({ state: 'open' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  let lagSource: (() => Promise<readonly ConsumerLagSample[]>) | undefined;
  // Both gauges are filled from one read per scrape: the records gauge's collect reads, the
  // seconds gauge (collected right after it in the same scrape) reuses that read.
  let lastLag: Promise<readonly ConsumerLagSample[]> = Promise.resolve([]);
  const readLag = async (): Promise<readonly ConsumerLagSample[]> => {
    if (lagSource === undefined) return [];
    try {
      return await lagSource();
    } catch {
      return [];
    }
  };
  new Gauge({
    name: 'fieldline_stream_consumer_lag_records',
    help: 'Records in the event stream a durable consumer has not handled yet, by consumer.',
    labelNames: ['consumer'] as const,
    registers: [registry],
    async collect() {
      lastLag = readLag();
      this.reset();
      for (const sample of await lastLag) this.set({ consumer: sample.consumer }, sample.records);
    },
  });
  new Gauge({
    name: 'fieldline_stream_consumer_lag_seconds',
    help: 'Age of the oldest event stream record a durable consumer has not handled yet (0 when none), by consumer.',
    labelNames: ['consumer'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const sample of await lastLag) {
        this.set({ consumer: sample.consumer }, sample.oldestAgeMs / 1000);
      }
    },
  });
  let relaySource: (() => Promise<OutboxRelayStatus>) | undefined;
  // One read per scrape serves the three gauges.
  let relayRead: { at: number; status: Promise<OutboxRelayStatus | undefined> } | undefined;
  const relayStatus = (): Promise<OutboxRelayStatus | undefined> => {
    const source = relaySource;
    if (source === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    if (relayRead === undefined || now - relayRead.at > 500) {
      relayRead = { at: now, status: source().catch(() => undefined) };
    }
    return relayRead.status;
  };
  new Gauge({
    name: 'fieldline_outbox_unpublished',
    help: 'Outbox rows the relay has not published to the stream yet (NATS only).',
    registers: [registry],
    async collect() {
      const status = await relayStatus();
      if (status !== undefined) this.set(status.unpublished);
    },
  });
  new Gauge({
    name: 'fieldline_outbox_oldest_unpublished_seconds',
    help: 'Age of the oldest outbox row not published yet, in seconds (0 when none; NATS only).',
    registers: [registry],
    async collect() {
      const status = await relayStatus();
      if (status !== undefined) this.set(status.oldestUnpublishedAgeMs / 1000);
    },
  });
  new Gauge({
    name: 'fieldline_stream_connected',
    help: '1 when the relay is connected to the stream (NATS), else 0; 1 with the embedded stream (the database is the stream).',
    registers: [registry],
    async collect() {
      if (relaySource === undefined) {
        this.set(1);
        return;
      }
      const status = await relayStatus();
      this.set(status?.connected === true ? 1 : 0);
    },
  });
  let realtimeSource: (() => number) | undefined;
  new Gauge({
    name: 'fieldline_realtime_connections',
    help: 'Devices with an authenticated WebSocket on this instance.',
    registers: [registry],
    collect() {
      if (realtimeSource !== undefined) this.set(realtimeSource());
    },
  });
  const realtimeClosed = new Counter({
    name: 'fieldline_realtime_closed_total',
    help: 'Closed WebSocket connections, by the close code of the side that closed first (docs/protocol.md §4.6) and that side.',
    labelNames: ['code', 'initiator'] as const,
    registers: [registry],
  });
  const handshakesRefused = new Counter({
    name: 'fieldline_realtime_handshakes_refused_total',
    help: 'WebSocket upgrades refused while too many handshakes were pending: source_full (429, one source over its cap) or server_full (503).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const retentionLastRun = new Gauge({
    name: 'fieldline_retention_last_run_timestamp_seconds',
    help: 'When raw-event retention last ran to the end (Unix seconds); alert when it falls behind.',
    registers: [registry],
  });
  const eventPartitions = new Gauge({
    name: 'fieldline_events_partitions',
    help: 'Day partitions of the events table after the last retention run.',
    registers: [registry],
  });
  return {
    registry,
    contentType: registry.contentType,
    recordRetentionRun(run) {
      retentionLastRun.set(run.ranAtMs / 1000);
      eventPartitions.set(run.partitions);
    },
    observePool(source) {
      poolSource = source;
    },
    observeOutboxRelay(source) {
      relaySource = source;
    },
    observeRealtimeConnections(source) {
      realtimeSource = source;
    },
    observeConsumerLag(source) {
      lagSource = source;
    },
    recordRealtimeClose(code, initiator = 'client') {
      realtimeClosed.inc({ code: String(code), initiator });
    },
    recordHandshakeRefused(reason) {
      handshakesRefused.inc({ reason });
    },
    observeRequest(sample) {
      const labels = {
        method: METHODS.has(sample.method) ? sample.method : 'OTHER',
        route: sample.route,
        status: String(sample.status),
      };
      duration.observe(labels, sample.durationMs / 1000);
      requests.inc(labels);
    },
    eventsIngested: (count = 1) => ingested.inc(count),
    eventsDuplicate: (count = 1) => duplicate.inc(count),
    eventsRejected: (code, count = 1) => rejected.inc({ code }, count),
    recordIngestion(counts) {
      if (counts.accepted > 0) ingested.inc(counts.accepted);
      if (counts.duplicates > 0) duplicate.inc(counts.duplicates);
      for (const [code, count] of Object.entries(counts.rejectedByCode)) {
        if (count > 0) rejected.inc({ code }, count);
      }
      for (const [reason, count] of Object.entries(counts.agentDrops ?? {})) {
        if (count > 0) agentDropped.inc({ reason }, count);
      }
    },
    render: () => registry.metrics(),
  };
}
