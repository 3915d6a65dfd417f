import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { consoleAssetsDir } from '@fieldline/console';
import { type Clock, type PublicKeys, publicKeysOf, systemClock } from '@fieldline/core';
import {
  type AccountsOptions,
  type AnalyticsConsumer,
  type AuditCheckpointer,
  answerClientErrors,
  type BodyLimits,
  type ClusterBus,
  createAnalyticsConsumer,
  createAuditCheckpointer,
  createFieldlineApp,
  createFileCheckpointSink,
  createInstallToken,
  createMemoryBus,
  createOutboxStream,
  createPostgresBus,
  createRealtimeGateway,
  createRetentionJob,
  type EventStream,
  type FieldlineApp,
  type FieldlineDb,
  type FieldlineRequest,
  forwardedForSource,
  issueSetupToken,
  type OutboxRelay,
  type PostgresBus,
  type RealtimeGateway,
  type RealtimeGatewayOptions,
  type RetentionJob,
  startWebhookWorker,
  toNodeListener,
} from '@fieldline/server-sdk';
import { type AdminTokenSource, resolveAdminToken } from '../admin/resolve-admin-token.js';
import { busPrefixFromDatabaseUrl } from '../cluster/bus-channel-prefix.js';
import { CONSOLE_PATH, isConsolePath, serveConsole } from '../console/serve-console.js';
import { openDatabase } from '../db/open-database.js';
import { runMigrations } from '../db/run-migrations.js';
import { ServerStartError } from '../errors/server-start-error.js';
import { ensurePrivateDir } from '../files/private-files.js';
import { trackInFlightRequests } from '../http/graceful-close.js';
import { instrumentListener } from '../http/instrument-listener.js';
import { createRouteLabeler } from '../http/route-labeler.js';
import { loadServerIdentity } from '../identity/load-server-identity.js';
import {
  loadServerKeyHistory,
  SERVER_IDENTITY_FILE,
  SERVER_KEY_HISTORY_FILE,
} from '../identity/server-key-history.js';
import { createLogger, type ServerLogger } from '../logging/create-logger.js';
import { metricsRoute } from '../metrics/metrics-route.js';
import { createServerMetrics, type ServerMetrics } from '../metrics/server-metrics.js';
import { openEventStream, type StreamSetting } from '../stream/open-event-stream.js';
import { startRelay } from '../stream/start-relay.js';
import { loadTlsFiles, type ServerTlsOptions } from '../tls/load-tls-files.js';
import { startAnalyticsThread } from '../worker/start-analytics-thread.js';
import { resolveWebhookKey } from './webhook-key.js';

/** Options of {@link startServer}. Environment variables are read by the CLI, not here. */
export interface StartServerOptions {
  /**
   * TCP port; 0 picks a free one (read it back from {@link RunningServer.port}).
   * @default 8080
   */
  readonly port?: number;
  /**
   * Interface to listen on; `0.0.0.0` or `::` to accept connections from other machines.
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * Directory for the server identity, the generated admin token and the PGlite database.
   * Created owner-only (0700) when missing.
   * @default '.fieldline'
   */
  readonly dataDir?: string;
  /** PostgreSQL connection string; when absent, PGlite runs in `<dataDir>/db`. */
  readonly databaseUrl?: string;
  /**
   * Prefix of the PostgreSQL `LISTEN`/`NOTIFY` channels instances talk over
   * (docs/protocol.md §4.9); servers on one database see each other only when
   * their prefixes match. Unused with PGlite (one process, in-memory bus).
   * @default `<schema>_` when `databaseUrl` sets a `search_path`, else `''`
   */
  readonly busChannelPrefix?: string;
  /**
   * The operator's admin token; when absent, the one in `<dataDir>/admin-token` is used,
   * or a new one is generated and saved there.
   */
  readonly adminToken?: string;
  /**
   * Where structured logs go.
   * @default a pino logger writing JSON lines to stderr at level `info`
   */
  readonly logger?: ServerLogger;
  /**
   * The metrics served on `/metrics`; pass your own to feed or read them elsewhere.
   * @default createServerMetrics()
   */
  readonly metrics?: ServerMetrics;
  /**
   * How long in-flight requests may take to finish on {@link RunningServer.stop}
   * before their connections are cut, in milliseconds.
   * @default 10_000
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * Request body limits.
   * @default the server-sdk defaults (2 MiB on the wire, 16 MiB decompressed)
   */
  readonly bodyLimits?: BodyLimits;
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Limits and timings of the WebSocket gateway on `/v1/ws`.
   * @default the server-sdk defaults (ping 25 s, timeout 60 s, 1 MiB messages)
   */
  readonly realtime?: RealtimeGatewayOptions;
  /**
   * Addresses of the reverse proxies in front of this server. Pending WebSocket handshakes are
   * capped per source address (docs/protocol.md §4.1); behind a proxy every peer is the proxy,
   * so for requests from these addresses the client is read from `X-Forwarded-For` instead.
   * Ignored when `realtime.sourceOf` is given.
   * @default [] (the peer's address is the source)
   */
  readonly trustedProxies?: readonly string[];
  /**
   * How often the audit chain's head is checkpointed (signed with the server key and appended
   * to `<dataDir>/audit-checkpoints.jsonl`) when it moved, in milliseconds; also on `stop()`.
   * Audit rows newer than the last checkpoint can be removed undetected.
   * @default 10_000
   */
  readonly auditCheckpointIntervalMs?: number;
  /**
   * Serve HTTPS (and WSS on `/v1/ws`) with this certificate and key instead of plain HTTP.
   * @default undefined (plain HTTP: put a TLS-terminating proxy in front)
   */
  readonly tls?: ServerTlsOptions;
  /**
   * Run the analytics consumer (docs/analytics.md) in this process, on the embedded outbox
   * stream. Turn it off where it runs as a separate worker; its lag is then not on `/metrics`.
   * @default true
   */
  readonly analytics?: boolean;
  /**
   * The key webhook secrets are encrypted under, as base64 of 32 bytes
   * (`FIELDLINE_WEBHOOK_KEY`); when absent, `<dataDir>/webhook-secret.key` (0600) is used,
   * or created.
   */
  readonly webhookKey?: string;
  /**
   * Let webhook endpoints point at private and loopback addresses (development, tests;
   * `FIELDLINE_ALLOW_PRIVATE_WEBHOOK_URLS=1`).
   * @default false
   */
  readonly allowPrivateWebhookUrls?: boolean;
  /**
   * How often raw-event retention runs (creates day partitions ahead, drops the expired ones),
   * in milliseconds; it also runs once at start. 0 turns it off (run `fieldline-server
   * retention` from a scheduler instead).
   * @default 3_600_000 (hourly)
   */
  readonly retentionIntervalMs?: number;
  /**
   * The event stream ingested batches reach consumers through: `embedded` (the outbox table)
   * or NATS JetStream (`{ natsServers }`; see `parseStreamSetting`).
   * @default 'embedded'
   */
  readonly stream?: StreamSetting;
  /**
   * With NATS, run the outbox relay in this process. Turn it off when `fieldline-server worker
   * relay` processes do it instead.
   * @default true
   */
  readonly relay?: boolean;
  /**
   * People's accounts: session lifetimes, login rate limits, cookie settings
   * (docs/accounts.md). With `trustedProxies`, login failures are counted per client as
   * `X-Forwarded-For` names it unless `clientSourceOf` is given.
   * @default the server-sdk defaults (12 h idle, 7 days, 5 failures per e-mail in 15 min)
   */
  readonly accounts?: AccountsOptions;
  /**
   * The web application's built assets, served on `/console` (packages/console/README.md).
   * @default consoleAssetsDir() of `@fieldline/console`
   */
  readonly consoleAssetsDir?: string;
}

/** A server started by {@link startServer}. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080` (`https://` with `tls`). */
  readonly url: string;
  /**
   * With `tls`: the certificate file and the SPKI pin of its key, which agents give as
   * `--tls-pin` (docs/security.md).
   */
  readonly tls?: { readonly certFile: string; readonly spkiPin: string };
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** The absolute data directory. */
  readonly dataDir: string;
  /** Which database engine serves this instance. */
  readonly databaseKind: FieldlineDb['kind'];
  /** Migrations applied during this start (empty when the schema was current). */
  readonly migrationsApplied: readonly string[];
  /** The operator's admin token (all tenants). Secret. */
  readonly adminToken: string;
  /** Where the admin token came from; the CLI prints it only when `generated`. */
  readonly adminTokenSource: AdminTokenSource;
  /** The server's public keys, which agents pin at enrollment. */
  readonly serverPublicKeys: PublicKeys;
  /** True when this start created the server identity. */
  readonly identityCreated: boolean;
  /** The composed API. */
  readonly app: FieldlineApp;
  /** The metrics served on `/metrics`. */
  readonly metrics: ServerMetrics;
  /** The WebSocket gateway on `/v1/ws` (presence events, channels, `request`). */
  readonly gateway: RealtimeGateway;
  /** Signs checkpoints of the audit chain's head into `<dataDir>/audit-checkpoints.jsonl`. */
  readonly auditCheckpoints: AuditCheckpointer;
  /** The analytics consumer running in this process; absent with `analytics: false`. */
  readonly analytics?: AnalyticsConsumer;
  /** Raw-event retention on its schedule (undefined when `retentionIntervalMs` is 0). */
  readonly retention: RetentionJob | undefined;
  /** The event stream (embedded or NATS JetStream): consume ingested batches from it. */
  readonly stream: EventStream;
  /** The outbox relay, when the stream is NATS and the relay runs in this process. */
  readonly relay?: OutboxRelay;
  /**
   * Requests received and not yet answered.
   *
   * @returns the count.
   */
  inFlightRequests(): number;
  /**
   * Creates a one-time install token, as `POST /v1/admin/install-tokens` does.
   *
   * @param tenant - the tenant enrolled devices join; created if new. Defaults to `default`.
   * @param ttlSeconds - lifetime; defaults to 24 h.
   * @returns the token (shown once) and its expiry.
   */
  issueInstallToken(
    tenant?: string,
    ttlSeconds?: number,
  ): Promise<{ readonly token: string; readonly expiresAt: string }>;
  /**
   * While no account exists, issues a one-time setup token (24 h) and returns the console's
   * first-run link to it; the token is the URL's fragment, so it never reaches a server log.
   *
   * @returns `{ url, expiresAt }`, or undefined when an account exists.
   */
  issueSetupLink(): Promise<{ readonly url: string; readonly expiresAt: string } | undefined>;
  /**
   * Shuts down gracefully: stops accepting connections, lets in-flight requests finish (up to
   * `shutdownTimeoutMs`, then cuts them), and closes the database. Safe to call more than once.
   *
   * @returns whether in-flight requests had to be cut.
   */
  stop(): Promise<{ readonly forced: boolean }>;
}

function checkOptions(port: number, shutdownTimeoutMs: number, retentionIntervalMs: number): void {
  if (!Number.isSafeInteger(retentionIntervalMs) || retentionIntervalMs < 0) {
    throw new ServerStartError(
      'invalid_option',
      `retentionIntervalMs must be a non-negative integer (0 turns retention off); got ${retentionIntervalMs}.`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ServerStartError('invalid_option', `The port must be 0–65535; got ${port}.`);
  }
  if (!Number.isFinite(shutdownTimeoutMs) || shutdownTimeoutMs < 0) {
    throw new ServerStartError(
      'invalid_option',
      `shutdownTimeoutMs must be a non-negative number; got ${shutdownTimeoutMs}.`,
    );
  }
}

/** How long a start waits for the bus to listen before serving anyway. */
const BUS_READY_TIMEOUT_MS = 10_000;

async function waitForBus(bus: PostgresBus, logger: ServerLogger): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(true), BUS_READY_TIMEOUT_MS);
  });
  const late = await Promise.race([bus.ready().then(() => false), timedOut]);
  clearTimeout(timer);
  // The bus keeps reconnecting; until then this instance misses other instances' messages.
  if (late) logger.warn({ timeoutMs: BUS_READY_TIMEOUT_MS }, 'cluster bus not listening yet');
}

/** Least time between two log lines about one database outage. */
const DATABASE_LOG_INTERVAL_MS = 5_000;

// During an outage every request fails the same way; one line per interval says so.
function throttledWarn(
  logger: ServerLogger,
  intervalMs: number,
): (error: unknown, message: string) => void {
  let lastMs = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error, message) => {
    const nowMs = Date.now();
    if (nowMs - lastMs < intervalMs) {
      suppressed += 1;
      return;
    }
    lastMs = nowMs;
    logger.warn({ err: error, suppressed }, message);
    suppressed = 0;
  };
}

// Login failures are counted per client; behind a proxy every peer is the proxy.
function forwardedClient(trustedProxies: readonly string[]): (request: FieldlineRequest) => string {
  const source = forwardedForSource({ trustedProxies });
  return (request) =>
    source({
      socket: { remoteAddress: request.remoteAddress },
      headers: { 'x-forwarded-for': request.header('x-forwarded-for') },
    });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts the reference server in this process: opens the database (PostgreSQL
 * when `databaseUrl` is given, else PGlite in the data directory), runs the
 * migrations, loads or creates the server identity and admin token, and serves
 * the Fieldline API plus `/metrics` on node:http.
 *
 * @param options - port, host, data directory, database, admin token, logger.
 * @returns the running server; call `stop()` to shut it down.
 * @throws {@link ServerStartError} when the identity or admin token file is malformed or has
 *   loose permissions, or an option is invalid; the listen error (e.g. `EADDRINUSE`) when the
 *   port is taken; a migration error. Nothing is left open when it throws.
 * @example
 * ```ts
 * const server = await startServer({ port: 0, dataDir: '/tmp/fl' });
 * const { token } = await server.issueInstallToken();
 * await server.stop();
 * ```
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const retentionIntervalMs = options.retentionIntervalMs ?? 3_600_000;
  checkOptions(port, shutdownTimeoutMs, retentionIntervalMs);
  const dataDir = resolve(options.dataDir ?? '.fieldline');
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger();
  const metrics = options.metrics ?? createServerMetrics();

  await ensurePrivateDir(dataDir);
  // The files come first: a bad one stops the start before anything is opened.
  const tls = options.tls === undefined ? undefined : await loadTlsFiles(options.tls);
  const identity = await loadServerIdentity(join(dataDir, SERVER_IDENTITY_FILE));
  const serverKeyHistory = await loadServerKeyHistory(
    join(dataDir, SERVER_KEY_HISTORY_FILE),
    identity.identity,
  );
  const admin = await resolveAdminToken({
    ...(options.adminToken === undefined ? {} : { token: options.adminToken }),
    path: join(dataDir, 'admin-token'),
  });

  const webhookSecretKey = await resolveWebhookKey({
    ...(options.webhookKey === undefined ? {} : { key: options.webhookKey }),
    path: join(dataDir, 'webhook-secret.key'),
  });
  const allowPrivateWebhookUrls = options.allowPrivateWebhookUrls ?? false;

  // A dropped connection is not fatal: the pool opens another when the database is back, and
  // requests meanwhile answer 503 `unavailable` (a log line per outage, not per request).
  const outageLog = throttledWarn(logger, DATABASE_LOG_INTERVAL_MS);
  const database = await openDatabase({
    dataDir,
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    onConnectionError: (error) => outageLog(error, 'database connection lost'),
  });
  let bus: ClusterBus | undefined;
  let stream: EventStream | undefined;
  let relay: OutboxRelay | undefined;
  try {
    const migrationsApplied = await runMigrations(database);
    metrics.observePool(() => database.poolStats());
    // Instances sharing PostgreSQL talk over LISTEN/NOTIFY; PGlite is one process.
    const postgresBus =
      database.kind === 'postgres' && options.databaseUrl !== undefined
        ? await createPostgresBus({
            connectionString: options.databaseUrl,
            channelPrefix:
              options.busChannelPrefix ?? busPrefixFromDatabaseUrl(options.databaseUrl),
            applicationName: 'fieldline-server-bus',
            onError: (error) => logger.warn({ err: error }, 'cluster bus error'),
          })
        : undefined;
    const busInUse: ClusterBus = postgresBus ?? createMemoryBus();
    bus = busInUse;
    // Kept in the data directory, not the database: whoever rewrites the audit table cannot
    // also move the signed head this file records (docs: server-sdk README, "Audit log").
    const auditCheckpoints = createAuditCheckpointer({
      db: database.db,
      identity: identity.identity,
      // Checkpoints signed before a `rotate-keys` stay valid: every key of the rotation chain
      // was this server's, and the chain (signed key to key) is what vouches for them.
      trustedPublicKeys: [
        identity.identity.signingPublicKey,
        ...(serverKeyHistory.rotations ?? []).map((rotation) => rotation.previousSigningPublicKey),
      ],
      sink: createFileCheckpointSink({ path: join(dataDir, 'audit-checkpoints.jsonl') }),
      clock,
      ...(options.auditCheckpointIntervalMs === undefined
        ? {}
        : { intervalMs: options.auditCheckpointIntervalMs }),
      onError: (error) => logger.warn({ err: error }, 'audit checkpoint failed'),
      onDiverged: ({ checkpoint, head }) =>
        logger.error(
          { checkpoint: { seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at }, head },
          'audit log truncated or rewritten behind its last checkpoint; no new checkpoint is signed',
        ),
    });
    const opened = openEventStream(database, options.stream ?? 'embedded', logger);
    stream = opened.stream;
    if (opened.jetStream !== undefined && options.relay !== false) {
      const running = startRelay(database, opened.jetStream, logger);
      relay = running;
      metrics.observeOutboxRelay(() => running.status());
    }
    const relayInUse = relay;
    const trustedProxies = options.trustedProxies ?? [];
    const app = createFieldlineApp({
      auditCheckpoints,
      db: database.db,
      serverIdentity: identity.identity,
      serverKeyHistory,
      adminCredentials: [{ token: admin.token }],
      clock,
      accounts: {
        ...(trustedProxies.length === 0 ? {} : { clientSourceOf: forwardedClient(trustedProxies) }),
        ...options.accounts,
      },
      bus: busInUse,
      webhookSecretKey,
      allowPrivateWebhookUrls,
      // NATS down degrades the stream, not ingestion (the outbox keeps every batch), so /readyz
      // reports it and stays 200: a 503 would take every instance out of the load balancer at
      // once, for a dependency ingestion does not need.
      ...(relayInUse === undefined
        ? {}
        : {
            readyChecks: {
              stream: async () => {
                const { connected, unpublished, oldestUnpublishedAgeMs } =
                  await relayInUse.status();
                return {
                  status: connected ? 'ok' : 'degraded',
                  details: { connected, unpublished, oldestUnpublishedAgeMs },
                };
              },
            },
          }),
      extraRoutes: () => [metricsRoute(metrics)],
      onIngested: (summary) => metrics.recordIngestion(summary),
      onUnavailable: (error) => outageLog(error, 'database unavailable; answering 503'),
      onError: (error, request) =>
        logger.error(
          { err: error, method: request.method, path: request.path },
          'unexpected error',
        ),
    });
    const labelApiRoute = createRouteLabeler(app.routes);
    // `/console` is the web application's static files; every other path goes to the API.
    const listener = instrumentListener(
      serveConsole(
        toNodeListener(app, options.bodyLimits),
        options.consoleAssetsDir ?? consoleAssetsDir(),
      ),
      {
        labelRoute: (path) => (isConsolePath(path) ? CONSOLE_PATH : labelApiRoute(path)),
        metrics,
        logger,
      },
    );
    // One server either way: the gateway upgrades /v1/ws on it, so WSS shares HTTPS's port.
    const server =
      tls === undefined
        ? createServer(listener)
        : createHttpsServer({ cert: tls.cert, key: tls.key }, listener);
    // What Node's parser refuses never reaches a route: answer it with the JSON error too.
    answerClientErrors(server);
    const gateway = createRealtimeGateway(app, {
      ...(trustedProxies.length === 0 ? {} : { sourceOf: forwardedForSource({ trustedProxies }) }),
      ...options.realtime,
    });
    gateway.on('error', (error) => logger.error({ err: error }, 'realtime gateway error'));
    gateway.attach(server);
    metrics.observeRealtimeConnections(() => gateway.connectedDevices);
    gateway.on('closed', ({ code, initiator }) => metrics.recordRealtimeClose(code, initiator));
    gateway.on('refused', ({ reason }) => metrics.recordHandshakeRefused(reason));
    const closer = trackInFlightRequests(server);
    if (postgresBus !== undefined) await waitForBus(postgresBus, logger);
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(port, host, () => {
        server.off('error', rejectListen);
        resolveListen();
      });
    });
    server.on('error', (error) => logger.error({ err: error }, 'server error'));
    auditCheckpoints.start();
    // The one event stream (embedded, or NATS JetStream) serves every in-process consumer: the
    // analytics consumer (unless it runs as a separate worker) and the webhook worker, which
    // turns notifications into signed deliveries (`fieldline-server worker webhooks` runs the
    // same worker on its own).
    let analytics: AnalyticsConsumer | undefined;
    if (options.analytics ?? true) {
      // On PostgreSQL the consumer gets a worker thread (its own event loop and pool), so adding
      // batches never queues behind request handling; PGlite is one connection owned here, and
      // an injected clock cannot cross threads, so those keep it on this event loop.
      const inThread =
        database.kind === 'postgres' &&
        options.databaseUrl !== undefined &&
        options.clock === undefined;
      analytics = inThread
        ? await startAnalyticsThread({
            dataDir,
            databaseUrl: options.databaseUrl as string,
            stream: options.stream ?? 'embedded',
            lag: (name) => opened.stream.lag(name),
            logger,
          })
        : createAnalyticsConsumer({ stream: opened.stream, db: database.db, clock, logger });
      const consumer = analytics;
      metrics.observeConsumerLag(async () => [await consumer.lag()]);
    }
    const webhooks = startWebhookWorker({
      db: database.db,
      stream: opened.stream,
      secretKey: webhookSecretKey,
      allowPrivateUrls: allowPrivateWebhookUrls,
      clock,
      onError: (error) => logger.warn({ err: error }, 'webhook dispatcher error'),
    });
    const retention =
      retentionIntervalMs === 0
        ? undefined
        : createRetentionJob({
            db: database.db,
            clock,
            intervalMs: retentionIntervalMs,
            onRun: (report) => {
              metrics.recordRetentionRun({
                ranAtMs: Date.parse(report.ranAt),
                partitions: report.partitions,
              });
              const changed =
                report.createdPartitions.length +
                report.droppedPartitions.length +
                report.deletedFromDefault +
                Object.keys(report.deletedRowsByTenant).length;
              if (changed > 0) logger.info({ retention: report }, 'retention enforced');
            },
            onError: (error) => logger.warn({ err: error }, 'retention run failed'),
          });
    retention?.start();
    const bound = (server.address() as AddressInfo).port;
    const url = `${tls === undefined ? 'http' : 'https'}://${urlHost(host)}:${bound}`;
    logger.info(
      {
        url,
        database: database.kind,
        dataDir,
        migrationsApplied,
        identityCreated: identity.created,
        adminTokenSource: admin.source,
        analytics: analytics === undefined ? 'off' : analytics.name,
      },
      'listening',
    );

    let stopping: Promise<{ readonly forced: boolean }> | undefined;
    const stop = async (): Promise<{ readonly forced: boolean }> => {
      logger.info({ inFlight: closer.inFlight(), timeoutMs: shutdownTimeoutMs }, 'shutting down');
      // Sockets first: devices get 1001 (going away) and reconnect to another instance.
      await gateway.close();
      // Admin streams never end on their own; ending them lets the close below finish at once.
      app.context.adminEvents.close();
      const { forced } = await closer.close(shutdownTimeoutMs);
      if (forced)
        logger.warn({ timeoutMs: shutdownTimeoutMs }, 'shutdown timed out; cut open requests');
      // The consumers' batches in flight commit or roll back before the database goes.
      await webhooks.stop();
      await analytics?.stop();
      // A retention run in progress finishes before the database goes.
      await retention?.stop();
      // Requests are done: the last audit rows are anchored before the database goes.
      await auditCheckpoints.stop();
      await relayInUse?.close();
      await opened.stream.close();
      await busInUse.close();
      await database.close();
      logger.info({ forced }, 'stopped');
      return { forced };
    };

    return {
      url,
      ...(tls === undefined ? {} : { tls: { certFile: tls.certFile, spkiPin: tls.spkiPin } }),
      port: bound,
      dataDir,
      databaseKind: database.kind,
      migrationsApplied,
      adminToken: admin.token,
      adminTokenSource: admin.source,
      serverPublicKeys: publicKeysOf(identity.identity),
      identityCreated: identity.created,
      app,
      metrics,
      gateway,
      auditCheckpoints,
      ...(analytics === undefined ? {} : { analytics }),
      retention,
      stream: opened.stream,
      ...(relayInUse === undefined ? {} : { relay: relayInUse }),
      inFlightRequests: () => closer.inFlight(),
      issueInstallToken: (tenant = 'default', ttlSeconds) =>
        createInstallToken(database.db, {
          tenantId: tenant,
          clock,
          ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
        }),
      async issueSetupLink() {
        const setup = await issueSetupToken(database.db, { clock });
        return setup === undefined
          ? undefined
          : { url: `${url}/console/setup#token=${setup.token}`, expiresAt: setup.expiresAt };
      },
      stop: () => {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    await relay?.close().catch(() => undefined);
    await stream?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }
}
