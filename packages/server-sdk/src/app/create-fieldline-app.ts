import {
  type Clock,
  type EventRegistry,
  type Identity,
  publicKeysOf,
  systemClock,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { type AccountsOptions, createAccountServices } from '../accounts/account-services.js';
import { createAdminEventHub } from '../admin-stream/admin-event-hub.js';
import { appendAudit } from '../audit/append-audit.js';
import type { AuditCheckpointer } from '../audit/audit-checkpointer.js';
import { type AdminCredential, createAdminAuthenticator } from '../auth/admin-auth.js';
import { createAdminOrSessionAuthenticator } from '../auth/admin-or-session-auth.js';
import type { ClusterBus } from '../cluster/cluster-bus.js';
import { createMemoryBus } from '../cluster/memory-bus.js';
import { type CommandOutboxDefaults, createCommandOutbox } from '../commands/command-outbox.js';
import { consentHistory } from '../consent/consent-history.js';
import type { ConsentServiceOptions } from '../consent/consent-service-options.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createLastSeenTracker } from '../devices/last-seen.js';
import { createRouter } from '../http/router.js';
import type { FieldlineHandler, FieldlineRequest, Route } from '../http/types.js';
import { createDatabaseReplayGuard } from '../ingestion/database-replay-guard.js';
import {
  type DefaultIngestionDeps,
  defaultIngestionSteps,
} from '../ingestion/default-ingestion-steps.js';
import {
  createIngestionPipeline,
  type IngestionPipeline,
  type IngestionStep,
} from '../ingestion/pipeline.js';
import type { IngestionSummary } from '../ingestion/steps/measure-ingestion.js';
import { writeNotification } from '../notifications/write-notification.js';
import { createServerKeyRing, type ServerKeyHistory } from '../sealing/server-key-ring.js';
import { adminAuditRoutes } from './admin-audit-routes.js';
import { adminCommandRoutes } from './admin-command-routes.js';
import { adminConsentRoutes } from './admin-consent-routes.js';
import { adminDeadLetterRoutes } from './admin-dead-letter-routes.js';
import { adminDeviceStandingRoutes } from './admin-device-standing-routes.js';
import { adminInstallTokenRoutes } from './admin-install-token-routes.js';
import { type AdminReportOptions, adminReportRoutes } from './admin-report-routes.js';
import { adminDeviceRoutes } from './admin-routes.js';
import { type AdminStreamOptions, adminStreamRoutes } from './admin-stream-routes.js';
import { adminWebhookRoutes } from './admin-webhook-routes.js';
import type { AppContext } from './app-context.js';
import { authRoutes } from './auth-routes.js';
import { type ConsentPageOptions, consentPageRoutes } from './consent-page-routes.js';
import { deviceCommandRoutes } from './device-command-routes.js';
import { deviceDataRoutes } from './device-data-routes.js';
import { deviceKeyRoutes } from './device-key-routes.js';
import { deviceRoutes } from './device-routes.js';
import { healthRoutes, type ReadyCheck } from './health-routes.js';
import { userRoutes } from './user-routes.js';

/** Options of {@link createFieldlineApp}. */
export interface FieldlineAppOptions {
  /** The migrated database. */
  readonly db: Kysely<FieldlineDatabase>;
  /** The server's long-term identity (agents pin its public keys). */
  readonly serverIdentity: Identity;
  /**
   * Earlier server identities still accepted during a key rotation's overlap, and the signed
   * rotation chain agents follow (docs/protocol.md §5.5).
   * @default none
   */
  readonly serverKeyHistory?: ServerKeyHistory;
  /** Admin tokens; one without a tenant is the operator's and sees every tenant. */
  readonly adminCredentials: readonly AdminCredential[];
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * The event types the server accepts.
   * @default createEventRegistry() (the built-in types)
   */
  readonly registry?: EventRegistry;
  /** Rate limits, load shedding, body size and store tuning of the ingestion pipeline. */
  readonly ingestion?: Pick<
    DefaultIngestionDeps,
    'maxBodyBytes' | 'rateLimit' | 'loadShedding' | 'store' | 'maxSkewMs'
  >;
  /**
   * Reorders or extends the ingestion steps, e.g.
   * `(steps) => insertStepAfter(steps, 'enrich-events', ingestionStep('geo', addGeo))`.
   */
  readonly customizeIngestion?: (steps: IngestionStep[]) => IngestionStep[];
  /** Called after every ingested batch (metrics). */
  readonly onIngested?: (summary: IngestionSummary) => void;
  /** Controller name and purpose texts written into consent records. */
  readonly consent?: Pick<ConsentServiceOptions, 'controller' | 'purposes'>;
  /**
   * Session lifetime, clock skew and cookie security of the employee's consent page API
   * (`POST /v1/consent-link/session`, `/v1/me/...`; docs/consent-page.md).
   * @default { sessionTtlMs: 1_800_000, maxSkewMs: 60_000 }, cookie `Secure` over TLS
   */
  readonly consentPage?: ConsentPageOptions;
  /**
   * How instances tell each other about new commands, sessions and admin
   * events. Use `createPostgresBus` when several instances share a database.
   * @default createMemoryBus() (one process)
   */
  readonly bus?: ClusterBus;
  /** Keep-alive interval and slow-reader cap of `GET /v1/admin/stream`. */
  readonly adminStream?: AdminStreamOptions;
  /**
   * TTL, attempts and ack timeout of durable commands.
   * @default { ttlSeconds: 3600, maxAttempts: 3, ackTimeoutMs: 30000 }
   */
  readonly commands?: CommandOutboxDefaults;
  /**
   * Signed checkpoints of the audit chain's head, kept apart from the database:
   * `GET /v1/admin/audit/verify` reports `truncated` when the chain lost or changed the
   * checkpoint's row. The app only reads them; start and stop the checkpointer yourself.
   * @default none (verification checks the links only, and cannot see truncation)
   */
  readonly auditCheckpoints?: AuditCheckpointer;
  /**
   * Cache bounds and page size of the reports API (`GET /v1/reports/…`).
   * @default { cache: { maxEntries: 200, maxBytes: 16_777_216 }, pageSize: 1000 }
   */
  readonly reports?: AdminReportOptions;
  /**
   * The 32-byte key webhook endpoint secrets are encrypted under (AES-256-GCM). The webhook
   * admin routes (docs/webhooks.md) exist only when it is given; give the webhook worker
   * (`startWebhookWorker`) the same key.
   * @default none (no webhook routes)
   */
  readonly webhookSecretKey?: Uint8Array;
  /**
   * Let webhook endpoints point at private, loopback and link-local addresses (development
   * and tests). Give the worker the same setting (`allowPrivateUrls`).
   * @default false
   */
  readonly allowPrivateWebhookUrls?: boolean;
  /**
   * Checks `/readyz` reports besides the database's, by name (e.g. `stream`). They never make
   * it answer 503: see {@link ReadyCheck}.
   * @default none
   */
  readonly readyChecks?: Readonly<Record<string, ReadyCheck>>;
  /**
   * People's accounts (docs/accounts.md): session lifetimes, login rate limits, password
   * hashing cost and cookie settings. Every admin route takes a person's session cookie as
   * well as an admin token.
   * @default idle timeout 12 h, lifetime 7 days, 5 failed logins per e-mail and 20 per
   *   address in 15 min, scrypt ln=15 r=8 p=1, `Secure` cookies over TLS
   */
  readonly accounts?: AccountsOptions;
  /** Extra routes, matched after the built-in ones. */
  readonly extraRoutes?: (context: AppContext) => readonly Route[];
  /** Receives unexpected errors (the client gets a bare 500). */
  readonly onError?: (error: unknown, request: FieldlineRequest) => void;
  /**
   * Receives the errors of requests that failed because the database is away
   * (the client gets 503 `unavailable` with `retry-after`).
   * @default ignore
   */
  readonly onUnavailable?: (error: unknown, request: FieldlineRequest) => void;
}

/** The whole Fieldline API as one handler, plus the pieces it was built from. */
export interface FieldlineApp extends FieldlineHandler {
  /** The routes, for mounting elsewhere or inspecting. */
  readonly routes: readonly Route[];
  /** The shared context, for building extra routes. */
  readonly context: AppContext;
  /** The ingestion pipeline behind `POST /v1/events`. */
  readonly ingestion: IngestionPipeline;
}

/**
 * Composes the Fieldline API from its pieces: enrollment, config, events
 * (through the ingestion pipeline), reports, consent, audit, devices, health.
 * Mount it with `toNodeListener` or `toFetchHandler`.
 *
 * @param options - database, server identity, admin credentials, tuning.
 * @returns the app.
 * @example
 * ```ts
 * const app = createFieldlineApp({ db, serverIdentity, adminCredentials: [{ token: adminToken }] });
 * http.createServer(toNodeListener(app)).listen(8080);
 * ```
 */
export function createFieldlineApp(options: FieldlineAppOptions): FieldlineApp {
  const clock = options.clock ?? systemClock;
  const { db } = options;
  const bus = options.bus ?? createMemoryBus();
  const serverKeys = createServerKeyRing(options.serverIdentity, options.serverKeyHistory);
  // Every answer names the server's current signing key, so an agent that pinned an earlier
  // one knows to fetch the rotation chain (GET /v1/server-keys).
  const serverKeyHeader = {
    'fieldline-server-key': publicKeysOf(options.serverIdentity).signingPublicKey,
  };
  const accounts = createAccountServices(db, clock, options.accounts);
  const context: AppContext = {
    db,
    clock,
    serverIdentity: options.serverIdentity,
    serverKeys,
    authenticateAdmin: createAdminOrSessionAuthenticator(
      createAdminAuthenticator(options.adminCredentials),
      accounts.gate,
    ),
    replayGuard: createDatabaseReplayGuard(db, { clock }),
    lastSeen: createLastSeenTracker(db, { clock }),
    bus,
    adminEvents: createAdminEventHub(bus),
    commands: createCommandOutbox({
      db,
      clock,
      bus,
      ...(options.commands === undefined ? {} : { defaults: options.commands }),
    }),
    consentOptions: { ...options.consent },
    ...(options.auditCheckpoints === undefined
      ? {}
      : { auditCheckpoints: options.auditCheckpoints }),
  };
  const defaults = defaultIngestionSteps({
    ...options.ingestion,
    db,
    clock,
    serverIdentity: options.serverIdentity,
    previousServerIdentities: () => serverKeys.previousAt(clock.now()),
    replayGuard: context.replayGuard,
    consent: { historyFor: (deviceId) => consentHistory(db, deviceId) },
    // The audit row and the `event.refused_no_consent` notification (counts per scope, never
    // the events) commit together: one of each per batch with refusals.
    audit: (entry) =>
      db.transaction().execute(async (trx) => {
        await appendAudit(
          trx,
          {
            tenantId: entry.tenantId,
            actor: `device:${entry.deviceId}`,
            action: entry.action,
            subject: `device:${entry.deviceId}`,
            details: {
              batchId: entry.batchId,
              messageId: entry.messageId,
              refused: entry.refusedCount,
              scopes: [...entry.scopes],
              eventIds: [...entry.eventIds],
            },
          },
          { clock },
        );
        await writeNotification(trx, entry.tenantId, 'event.refused_no_consent', {
          deviceId: entry.deviceId,
          batchId: entry.batchId,
          refused: { ...entry.refusedPerScope },
          at: entry.at.toISOString(),
        });
      }),
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(options.onIngested === undefined ? {} : { onResult: options.onIngested }),
  });
  const ingestion = createIngestionPipeline(options.customizeIngestion?.(defaults) ?? defaults);
  const routes = [
    ...healthRoutes(context, options.readyChecks),
    ...deviceRoutes(context),
    ...deviceDataRoutes(context, ingestion),
    ...deviceCommandRoutes(context),
    ...deviceKeyRoutes(context),
    ...adminDeviceRoutes(context),
    ...adminDeviceStandingRoutes(context),
    ...adminInstallTokenRoutes(context),
    ...adminConsentRoutes(context),
    ...adminAuditRoutes(context),
    ...adminStreamRoutes(context, options.adminStream),
    ...adminCommandRoutes(context),
    ...adminDeadLetterRoutes(context, ingestion),
    ...adminReportRoutes(context, options.reports),
    ...authRoutes(accounts),
    ...userRoutes(context, accounts),
    ...consentPageRoutes(context, options.consentPage),
    ...(options.webhookSecretKey === undefined
      ? []
      : adminWebhookRoutes(context, {
          secretKey: options.webhookSecretKey,
          allowPrivateUrls: options.allowPrivateWebhookUrls ?? false,
        })),
    ...(options.extraRoutes?.(context) ?? []),
  ];
  const router = createRouter(routes, {
    ...(options.onError === undefined ? {} : { onError: options.onError }),
    ...(options.onUnavailable === undefined ? {} : { onUnavailable: options.onUnavailable }),
  });
  return {
    routes,
    context,
    ingestion,
    async handle(request) {
      // A session lives in the database and admin authentication is synchronous: the cookie
      // is resolved here, once, before any route asks who is calling.
      await accounts.gate.prepare(request);
      const response = await router.handle(request);
      return { ...response, headers: { ...response.headers, ...serverKeyHeader } };
    },
  };
}
