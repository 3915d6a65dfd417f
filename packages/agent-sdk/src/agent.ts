import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BoundedQueue,
  type BuiltInEventMap,
  type Clock,
  type ConsentSnapshot,
  type ConsentState,
  canCollect,
  createBoundedQueue,
  createEnvelopeFactory,
  createEventRegistry,
  type DeviceConfig,
  deviceConfigSchema,
  type EnvelopeFactory,
  type EventRegistry,
  type EventsResponse,
  type EventTypeMap,
  exportedIdentitySchema,
  fromConsentSnapshot,
  type Identity,
  importIdentity,
  type Random,
  type RetryPolicyOptions,
  systemClock,
  systemRandom,
  UNKNOWN_CONSENT_STATE,
} from '@fieldline/core';
import { EventEmitter } from 'eventemitter3';
import { AgentError } from './agent-errors.js';
import type {
  AgentEvents,
  AgentLifecycle,
  AgentStatus,
  ConnectionState,
  DropReason,
  FlushResult,
  JobRecord,
  ShutdownOptions,
  TrackResult,
} from './agent-types.js';
import type { Collector } from './collector.js';
import { type ConsentLink, type ConsentLinkOptions, mintConsentLink } from './consent-link.js';
import { type DeliveryContext, deliverEventBatch, deliverReport } from './delivery.js';
import { type EnrollOptions, enrollDevice } from './enrollment.js';
import { followServerKeys } from './follow-server-keys.js';
import { hasPendingKeyRotation, rotateDeviceKeys } from './key-rotation.js';
import { AgentRealtime } from './realtime/agent-realtime.js';
import { isOlderConsent } from './realtime/consent-freshness.js';
import type {
  ChannelHandler,
  CommandHandler,
  RealtimeOptions,
  RequestOptions,
} from './realtime/realtime-types.js';
import {
  decodeEventBatch,
  encodeEventBatch,
  type StoredBatch,
} from './spool/event-batch-payload.js';
import { type HeldBatch, HeldBatches } from './spool/held-batches.js';
import {
  createFileSpool,
  loadOrCreateSpoolKey,
  type Spool,
  type SpoolEntry,
  type SpoolEntryRef,
  SpoolError,
  type SpoolFileSystem,
} from './spool/index.js';
import { readStateFile, writePrivateFile } from './state/private-file.js';
import { readJobStates } from './state/read-job-states.js';
import {
  cachedConfigSchema,
  consentFileSchema,
  type EnrollmentFile,
  enrollmentFileSchema,
  type StatePaths,
  seqFileSchema,
  statePaths,
  tlsFileSchema,
} from './state/state-files.js';
import {
  createStatusFileWriter,
  type StatusFileWriter,
  type StatusWriteOptions,
} from './state/status-file-writer.js';
import { createHttpTransport, type Transport } from './transport/http-transport.js';
import { type AgentTlsOptions, createTlsConnectOptions } from './transport/tls-connect-options.js';
import { watchKeyRotation } from './transport/watch-key-rotation.js';

/**
 * Options of {@link createAgent}.
 *
 * @typeParam M - the event types of `registry`, which type `agent.track()`;
 * inferred from the registry you pass, the built-in types without one.
 */
export interface AgentOptions<M extends EventTypeMap = BuiltInEventMap> {
  /** Directory for identity, enrollment, cached config, consent, spool (created 0700). */
  readonly stateDir: string;
  /**
   * The event types the agent may track (must match the server's). Its type
   * types `track()`: `createEventRegistry().register(myType)` adds `myType`.
   * @default createEventRegistry()
   */
  readonly registry?: EventRegistry<M>;
  /** Collectors started while their scope is consented and their config entry enabled. */
  readonly collectors?: readonly Collector[];
  /**
   * How the agent talks HTTP.
   * @default createHttpTransport({ tls }) (Node's fetch; the undici package's with pins or CAs)
   */
  readonly transport?: Transport;
  /**
   * SPKI pins and CAs for HTTPS and WSS: checked on every request of the default transport and
   * on every real-time connection (a custom `transport` must check them itself). `enroll()`
   * keeps them in the state directory (`tls.json`), and an agent created without this option
   * uses the kept ones, so pins given once at enrollment hold for every later run.
   * @default the ones kept at enrollment, else none (Node's default roots, no pinning)
   */
  readonly tls?: AgentTlsOptions;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default systemRandom */
  readonly random?: Random;
  /**
   * Delivery retry policy (core's defaults: 5 attempts, 500 ms base, 30 s cap, 2 min budget).
   */
  readonly retry?: RetryPolicyOptions;
  /**
   * Events held in memory before they are moved to the spool.
   * @default 1_000
   */
  readonly maxQueuedEvents?: number;
  /**
   * Keep unsent events of a scope when its consent is withdrawn (by default they are purged).
   * @default false
   */
  readonly keepUnsentOnWithdrawal?: boolean;
  /**
   * Consecutive 401 answers before the agent considers itself unenrolled.
   * @default 3
   */
  readonly unauthorizedThreshold?: number;
  /** Spool caps. */
  readonly spool?: {
    readonly maxAgeMs?: number;
    readonly maxTotalBytes?: number;
    readonly maxFilesPerRun?: number;
    /**
     * The file system the spool and its key go through (tests inject faults here).
     * @default nodeSpoolFileSystem
     */
    readonly fileSystem?: SpoolFileSystem;
  };
  /** Reported at enrollment. */
  readonly agentVersion?: string;
  /**
   * The real-time connection (`/v1/ws`): opened by `start()`, closed with 1000 by `shutdown()`.
   * @default { enabled: true } (backoff 1 s–60 s, offline after 10 failures, poll every 30 s)
   */
  readonly realtime?: RealtimeOptions;
}

/** What one attempt to deliver a spool entry came to. */
type SendOutcome =
  | { kind: 'delivered'; delivered: number; rejected: number }
  | { kind: 'refused'; code: string }
  | { kind: 'split' }
  | { kind: 'deferred' | 'unauthorized'; reason: string };

/** One flush's running state, shared by its delivery workers. */
interface FlushRun {
  readonly totals: {
    delivered: number;
    rejected: number;
    deferred: number;
    resentFiles: number;
    reason?: string;
  };
  /** A deferral means the rest would meet the same server state: leave them for later. */
  stopped: boolean;
  /** The spool refs of what was sent in this run, so that none is sent twice. */
  readonly attempted: Promise<SpoolEntryRef | undefined>[];
  readonly removals: Promise<unknown>[];
}

/**
 * A spool entry on its way to the server, events already parsed. `ref` settles once the
 * entry is on disk (undefined if its write failed): a batch held in memory may be sent while
 * its write is still under way.
 */
type Sendable =
  | {
      readonly ref: Promise<SpoolEntryRef | undefined>;
      readonly kind: 'events';
      readonly itemCount: number;
      readonly batch: StoredBatch;
      /** Set when sent from memory: the copy whose custody the outcome settles. */
      readonly held?: HeldBatch;
    }
  | {
      readonly ref: Promise<SpoolEntryRef | undefined>;
      readonly kind: 'report';
      readonly itemCount: number;
      readonly payload: Uint8Array;
    };

interface QueuedEvent {
  readonly id: string;
  readonly scope: string;
  readonly json: string;
}

const SEQ_BLOCK = 10_000;
// Batches on the wire at once during a flush: two hide the wait for the server's answer
// (measured: 50,000 events to a local sink 1.3x faster); more gain nothing on two cores and
// only press harder on a recovering server.
const DELIVERIES_IN_FLIGHT = 2;
// In-memory copies of spooled batches a flush may send without reading them back: enough for
// a burst of ~70 full batches; past it, batches are resent from disk as usual.
const MAX_HELD_BYTES = 16 * 1024 * 1024;
const EMPTY_DROPS: Record<DropReason, number> = {
  no_consent: 0,
  invalid: 0,
  overflow: 0,
  spool_trimmed: 0,
  spool_corrupt: 0,
  spool_unreadable: 0,
  rejected_by_server: 0,
};

/**
 * The device side of Fieldline: enroll, fetch config, gate on consent, track
 * events, and deliver them sealed and signed, with an encrypted on-disk spool
 * so nothing `track()` accepted is lost to a network outage or a crash after
 * a flush. Create with {@link createAgent}.
 *
 * @typeParam M - the registered event types: `track()` accepts only their
 * names, each with its own data shape. The built-in types by default.
 * @example
 * ```ts
 * const agent = await createAgent({ stateDir: '/var/lib/my-agent' });
 * await agent.enroll({ serverUrl, installToken });
 * await agent.start();
 * agent.track('activity.system.active', { idleForMs: 5000 });
 * await agent.shutdown();
 * ```
 */
export class Agent<M extends EventTypeMap = BuiltInEventMap> extends EventEmitter<AgentEvents> {
  readonly #paths: StatePaths;
  // Without the registry (kept below), so that M appears only in track()'s signature and an
  // Agent<M> is usable wherever an agent of a wider map is expected.
  readonly #options: Omit<AgentOptions, 'registry'>;
  readonly #clock: Clock;
  readonly #random: Random;
  // Typed by name only: the public methods carry the per-type data types.
  readonly #registry: EventRegistry<EventTypeMap>;
  readonly #transport: Transport;
  readonly #spool: Spool;
  readonly #queue: BoundedQueue<QueuedEvent>;
  #identity: Identity | undefined;
  #enrollment: EnrollmentFile | undefined;
  #config: DeviceConfig | undefined;
  #configEtag: string | null = null;
  #consent: ConsentSnapshot = { status: 'unknown' };
  // The snapshot as the machine's state, parsed once per change rather than per track().
  #consentState: ConsentState = UNKNOWN_CONSENT_STATE;
  #envelopes: EnvelopeFactory | undefined;
  #seqBlockEnd = 0;
  #lifecycle: AgentLifecycle = 'unenrolled';
  #connection: ConnectionState = 'unknown';
  #drops: Record<DropReason, number> = { ...EMPTY_DROPS };
  #unreportedDrops: Record<DropReason, number> = { ...EMPTY_DROPS };
  #consecutiveUnauthorized = 0;
  #lastFlushAt: number | null = null;
  #lastError: string | null = null;
  #flushTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #flushChain: Promise<unknown> = Promise.resolve();
  #flushScheduled = false;
  readonly #pendingWrites = new Set<Promise<unknown>>();
  readonly #held = new HeldBatches(MAX_HELD_BYTES);
  readonly #collectorStates = new Map<string, 'running' | 'stopped' | 'unsupported' | 'disabled'>();
  #jobs: Record<string, { status: string; finishedAt: string; durationMs: number }> = {};
  readonly #realtime: AgentRealtime;
  readonly #statusFile: StatusFileWriter;
  #collectorSync: Promise<void> = Promise.resolve();
  #rotation: Promise<void> | undefined;
  #serverKeyFollow: Promise<boolean> | undefined;
  #unfollowableServerKey: string | undefined;
  #consentChain: Promise<void> = Promise.resolve();

  /** @internal Use {@link createAgent}. */
  constructor(options: AgentOptions<M>, spool: Spool) {
    super();
    this.#options = options;
    this.#paths = statePaths(options.stateDir);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    // Widened to look types up by any name (trackUntyped, collectors); never registered into.
    this.#registry = (options.registry ??
      createEventRegistry()) as unknown as EventRegistry<EventTypeMap>;
    // Any answer saying "rotate your keys" starts a rotation, whichever request it came from.
    this.#transport = watchKeyRotation(
      options.transport ??
        createHttpTransport(options.tls === undefined ? {} : { tls: options.tls }),
      {
        onRotationRequired: () => {
          this.rotateKeys().catch((error: unknown) => this.#reportError(error));
        },
        pinnedServerSigningKey: () => this.#enrollment?.serverPublicKeys.signingPublicKey,
        onServerKeyChanged: (announced) => {
          // A key whose chain did not verify is not fetched again on every answer.
          if (announced === this.#unfollowableServerKey) return;
          this.followServerKeys()
            .then((followed) => {
              if (!followed) this.#unfollowableServerKey = announced;
            })
            .catch((error: unknown) => this.#reportError(error));
        },
      },
    );
    this.#spool = spool;
    this.#queue = createBoundedQueue<QueuedEvent>({
      maxItems: options.maxQueuedEvents ?? 1_000,
      overflow: 'reject',
      sizeOf: (item) => item.json.length,
    });
    this.#statusFile = createStatusFileWriter(this.#paths.status, async () => {
      // A one-shot `job` in another process records its run only in jobs/: pick it up, so the
      // long-running agent's snapshot does not hide it.
      await this.#loadJobs();
      return this.status();
    });
    this.#realtime = new AgentRealtime(options.realtime, {
      clock: this.#clock,
      random: this.#random,
      transport: this.#transport,
      tls: createTlsConnectOptions(options.tls),
      ledgerPath: join(this.#paths.root, 'commands-seen.json'),
      enrollment: () => this.#enrollment,
      identity: () => this.#identity,
      applyConsent: (snapshot) => this.#applyConsent(snapshot, { unlessOlder: true }),
      refreshConfig: async () => {
        await this.refreshConfig();
        await this.#syncCollectors();
      },
      revoked: () => this.#onRevoked(),
      rotationRequired: () => this.rotateKeys(),
      reachable: () => this.#setConnection('online'),
      emitConnection: (change) => this.emit('connection', change),
      emitCommand: (handled) => this.emit('command', handled),
      reportError: (error) => this.#reportError(error),
    });
  }

  /** @internal Loads the state directory. */
  async load(): Promise<void> {
    const identityFile = await readStateFile(this.#paths.identity, exportedIdentitySchema, {
      private: true,
    });
    const enrollment = await readStateFile(this.#paths.enrollment, enrollmentFileSchema, {
      private: true,
    });
    if (identityFile !== undefined && enrollment !== undefined) {
      const identity = importIdentity(identityFile);
      if (!identity.ok) {
        throw new AgentError(
          'state_corrupt',
          `${this.#paths.identity} is not a valid identity: ${identity.error.message}`,
        );
      }
      this.#identity = identity.value;
      this.#enrollment = enrollment;
      this.#lifecycle = 'enrolled';
    }
    const cached = await readStateFile(this.#paths.config, cachedConfigSchema).catch(
      () => undefined,
    );
    if (cached !== undefined) {
      this.#config = cached.config;
      this.#configEtag = cached.etag;
    }
    const consent = await readStateFile(this.#paths.consent, consentFileSchema).catch(
      () => undefined,
    );
    if (consent !== undefined) {
      this.#consent = consent.consent;
      this.#consentState = fromConsentSnapshot(consent.consent);
    }
    const seq = await readStateFile(this.#paths.seq, seqFileSchema).catch(() => undefined);
    await this.#reserveSeqBlock(seq?.nextBlockStart ?? 0);
    await this.#recoverSpool();
    await this.#loadJobs();
  }

  // ── enrollment ──────────────────────────────────────────────────────────

  /**
   * Enrolls this device with an install token. Safe to repeat: the new
   * identity replaces the old one only after the server accepted it. The
   * spool is kept.
   *
   * @param options - server URL, install token, host name.
   * @throws {@link AgentError} `enrollment_failed` or `server_unreachable`.
   */
  async enroll(options: EnrollOptions): Promise<{ readonly deviceId: string }> {
    const enrolled = await enrollDevice(this.#paths, options, {
      transport: this.#transport,
      clock: this.#clock,
      ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
      ...(this.#options.agentVersion === undefined
        ? {}
        : { agentVersion: this.#options.agentVersion }),
    });
    this.#identity = enrolled.identity;
    this.#enrollment = enrolled.enrollment;
    this.#consecutiveUnauthorized = 0;
    await this.#saveConfig(enrolled.response.config, null);
    await this.#applyConsent(enrolled.response.consent);
    this.#setLifecycle(this.#lifecycle === 'running' ? 'running' : 'enrolled');
    if (this.#lifecycle === 'running') {
      // The socket authenticated as the old device; it must say hello as the new one.
      await this.#realtime.stop();
      await this.#realtime.start();
    }
    return { deviceId: enrolled.enrollment.deviceId };
  }

  /**
   * Replaces the device's keys (docs/protocol.md §5.3): a new identity, offered to the server
   * signed by the old key and the new one, written to the state directory (0600, atomically)
   * only once the server confirmed it; the socket then says hello with the new key. The agent
   * calls it by itself when the server requires a rotation (403 `key_rotation_required` or
   * close code 4426) and at `start()` when an earlier rotation was left unconfirmed. Calls made
   * while one runs share it.
   *
   * @throws {@link AgentError} `not_enrolled`, `server_unreachable` or `key_rotation_failed`.
   * @example
   * ```ts
   * await agent.rotateKeys();
   * ```
   */
  rotateKeys(): Promise<void> {
    this.#rotation ??= this.#rotateKeysNow().finally(() => {
      this.#rotation = undefined;
    });
    return this.#rotation;
  }

  async #rotateKeysNow(): Promise<void> {
    const enrollment = this.#enrollment;
    const identity = this.#identity;
    if (enrollment === undefined || identity === undefined) {
      throw new AgentError('not_enrolled', 'Enroll the agent before rotating its keys.');
    }
    this.#identity = await rotateDeviceKeys(this.#paths, enrollment, identity, {
      transport: this.#transport,
      clock: this.#clock,
      random: this.#random,
    });
    if (this.#lifecycle === 'running') {
      // The socket authenticated with the old key; it must say hello with the new one.
      await this.#realtime.stop();
      await this.#realtime.start();
    }
  }

  /**
   * Follows a rotation of the server's keys (docs/protocol.md §5.5): fetches the server's
   * signed rotation chain and, when it verifies from the pinned keys, pins the new ones
   * (enrollment file rewritten atomically, 0600) and reconnects the socket to check the next
   * welcome with them. The agent calls it by itself when an answer names a server key other
   * than the pinned one. Calls made while one runs share it.
   *
   * @returns whether the pinned keys changed.
   * @example
   * ```ts
   * if (await agent.followServerKeys()) console.log('now pinned to the rotated server key');
   * ```
   */
  followServerKeys(): Promise<boolean> {
    this.#serverKeyFollow ??= this.#followServerKeysNow().finally(() => {
      this.#serverKeyFollow = undefined;
    });
    return this.#serverKeyFollow;
  }

  async #followServerKeysNow(): Promise<boolean> {
    const enrollment = this.#enrollment;
    if (enrollment === undefined) return false;
    const followed = await followServerKeys(this.#paths, enrollment, this.#transport);
    if (followed === enrollment) return false;
    this.#enrollment = followed;
    if (this.#lifecycle === 'running') {
      await this.#realtime.stop();
      await this.#realtime.start();
    }
    return true;
  }

  /**
   * Signs a short-lived link to the employee's consent page (docs/consent-page.md): the
   * person using this device opens it to read the policy, grant or withdraw per scope, fetch
   * their receipts and see what was collected, without an operator account. The device's
   * Ed25519 key signs it; the server accepts it once, within its lifetime. Nothing is sent.
   *
   * @param options - lifetime (default 10 minutes, at most one hour) and page path.
   * @returns the link's URL, token, device and expiry.
   * @throws {@link AgentError} `not_enrolled`, or `invalid_options` for a bad lifetime.
   * @example
   * ```ts
   * console.log(agent.createConsentLink().url); // https://…/console/consent#t=…
   * ```
   */
  createConsentLink(options: ConsentLinkOptions = {}): ConsentLink {
    const enrollment = this.#enrollment;
    const identity = this.#identity;
    if (enrollment === undefined || identity === undefined) {
      throw new AgentError('not_enrolled', 'Enroll the agent before creating a consent link.');
    }
    return mintConsentLink(enrollment, identity, {
      ...options,
      clock: this.#clock,
      random: this.#random,
    });
  }

  // ── lifecycle ───────────────────────────────────────────────────────────

  /**
   * Fetches config (falling back to the cached copy, with a warning on the
   * `error` event), resends what the spool holds, starts the consented
   * collectors and the flush timer.
   *
   * @throws {@link AgentError} `not_enrolled`, or `no_config` when the server is unreachable and nothing is cached.
   */
  async start(): Promise<void> {
    if (this.#enrollment === undefined) {
      throw new AgentError(
        'not_enrolled',
        'Enroll the agent first (agent.enroll or `fieldline-agent enroll`).',
      );
    }
    this.#announceSpoolProblems();
    if (await hasPendingKeyRotation(this.#paths)) {
      // An earlier rotation was not confirmed: finish it before signing anything.
      await this.rotateKeys().catch((error: unknown) => this.#reportError(error));
    }
    await this.refreshConfig();
    this.#setLifecycle('running');
    await this.#syncCollectors();
    this.#armFlushTimer();
    // Before the heartbeat, whose retries can take long against an unreachable server.
    await this.#realtime.start();
    await this.heartbeat();
  }

  /**
   * Sends a `device.heartbeat` (operational: it needs no consent) and flushes.
   * The answer carries the device's consent and pending commands, so an agent
   * with nothing to report still learns of a grant or a withdrawal. `start()`
   * sends one at once and then every `heartbeatIntervalMs` of the config.
   *
   * @returns the flush result.
   */
  async heartbeat(): Promise<FlushResult> {
    const spool = this.#spool.stats();
    this.#record('device.heartbeat', {
      uptimeMs: Math.round(process.uptime() * 1000),
      ...(this.#options.agentVersion === undefined
        ? {}
        : { agentVersion: this.#options.agentVersion }),
      queueDepth: this.#queue.size,
      spoolBytes: spool.bytes,
    });
    return this.flush();
  }

  /**
   * Fetches the config with its ETag; keeps the cached copy on 304, and
   * falls back to it (reporting an `error` event) when the server cannot be
   * reached.
   *
   * @throws {@link AgentError} `no_config` when there is neither an answer nor a cache.
   */
  async refreshConfig(): Promise<DeviceConfig> {
    const enrollment = this.#requireEnrollment();
    try {
      const response = await this.#transport.request({
        method: 'GET',
        url: `${enrollment.serverUrl}/v1/config`,
        headers: {
          authorization: `Bearer ${enrollment.deviceToken}`,
          ...(this.#configEtag === null ? {} : { 'if-none-match': this.#configEtag }),
        },
      });
      if (response.status === 304 && this.#config !== undefined) {
        this.#setConnection('online');
        return this.#config;
      }
      if (response.status === 200) {
        const parsed = deviceConfigSchema.safeParse(response.body);
        if (parsed.success) {
          this.#setConnection('online');
          await this.#saveConfig(parsed.data, response.header('etag') ?? null);
          return parsed.data;
        }
      }
      if (response.status === 401) await this.#noteUnauthorized();
      throw new Error(`config request answered ${response.status}`);
    } catch (error) {
      this.#setConnection('offline');
      if (this.#config !== undefined) {
        this.#reportError(
          new AgentError(
            'server_unreachable',
            `Using the cached config: ${(error as Error).message}.`,
            { cause: error },
          ),
        );
        return this.#config;
      }
      throw new AgentError(
        'no_config',
        'The server cannot be reached and no config is cached; check the server URL and network.',
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Stops collectors, timers and the real-time connection, then, within
   * `timeoutMs`, delivers what it can and waits for the acks of commands
   * already being handled; whatever is left is written to the spool, never
   * dropped. Once it has resolved the agent emits nothing more: an ack still
   * under way at the deadline is abandoned silently (the server redelivers the
   * command to the next run, which answers it from its ledger).
   *
   * @param options - how long to deliver and wait for acks; whether to write `status.json`.
   * @returns the last flush's result.
   * @example
   * ```ts
   * process.once('SIGTERM', () => void agent.shutdown({ timeoutMs: 5_000 }));
   * ```
   */
  async shutdown(options: ShutdownOptions = {}): Promise<FlushResult> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.#setLifecycle('stopping');
    await this.#realtime.stop();
    // Handlers that were running when the socket closed ack over HTTP, beside the last flush.
    const commandsSettled = this.#realtime.drain(timeoutMs);
    if (this.#flushTimer !== undefined) clearInterval(this.#flushTimer);
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    await this.#stopAllCollectors();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('shutdown timeout')), timeoutMs);
    let result: FlushResult;
    try {
      result = await this.flush({ signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
    await this.#spoolQueue();
    await Promise.allSettled([...this.#pendingWrites]);
    // Copies spilled while the last flush ran: on disk, or counted now if their write failed.
    for (const batch of this.#held.release()) this.#letGo(batch);
    await commandsSettled;
    this.#setLifecycle('stopped');
    try {
      if (options.writeStatusFile !== false) await this.writeStatusFile();
    } finally {
      this.#realtime.close();
    }
    return result;
  }

  // ── tracking ────────────────────────────────────────────────────────────

  /**
   * Records one event: validates `data` against the registry, checks consent
   * for the type's scope, stamps id/seq/occurredAt, and queues it. Never
   * blocks and never throws; a refusal is returned and counted.
   *
   * Typed by the agent's registry: `type` must be a registered name and
   * `data` that type's data (the built-in types unless `registry` was given).
   * For a type name known only at run time, use {@link Agent.trackUntyped}.
   *
   * @param type - a registered event type.
   * @param data - its data.
   * @param occurredAtMs - when it happened; now by default.
   * @returns `queued` with the event id, or `refused` with the reason.
   * @example
   * ```ts
   * agent.track('activity.app.launched', { app: 'org.libreoffice.calc', pid: 4242 });
   * ```
   */
  track<K extends keyof M & string>(type: K, data: M[K], occurredAtMs?: number): TrackResult {
    return this.#record(type, data, occurredAtMs);
  }

  /**
   * {@link Agent.track} for an event type name and data known only at run
   * time (a command-line argument, parsed JSON, a plugin's output). Checked
   * exactly as `track()` is, at run time: an unregistered name is refused with
   * `unknown_type` and data that fails the type's schema with `invalid`.
   *
   * @param type - an event type name, registered or not.
   * @param data - its data, unchecked by the compiler.
   * @param occurredAtMs - when it happened; now by default.
   * @returns `queued` with the event id, or `refused` with the reason.
   * @example
   * ```ts
   * const result = agent.trackUntyped(process.argv[2], JSON.parse(process.argv[3]));
   * if (result.status === 'refused') console.error(result.reason, result.message);
   * ```
   */
  trackUntyped(type: string, data: unknown, occurredAtMs?: number): TrackResult {
    return this.#record(type, data, occurredAtMs);
  }

  #record(type: string, data: unknown, occurredAtMs?: number): TrackResult {
    const eventType = this.#registry.get(type);
    if (eventType === undefined) {
      this.#countDrop('invalid', 1);
      return {
        status: 'refused',
        reason: 'unknown_type',
        message: `Event type ${type} is not registered.`,
      };
    }
    const at = occurredAtMs ?? this.#clock.now();
    if (!canCollect(this.#consentState, eventType.scope, at)) {
      this.#countDrop('no_consent', 1);
      return {
        status: 'refused',
        reason: 'no_consent',
        message: `No consent for scope "${eventType.scope}".`,
      };
    }
    const valid = this.#registry.validateData(type, data);
    if (!valid.ok) {
      this.#countDrop('invalid', 1);
      return { status: 'refused', reason: 'invalid', message: valid.error.message };
    }
    const envelopes = this.#envelopes;
    if (envelopes === undefined || this.#enrollment === undefined) {
      return { status: 'refused', reason: 'not_running', message: 'The agent is not enrolled.' };
    }
    const envelope = envelopes.create(type, eventType.scope, valid.value, at);
    if (envelopes.nextSeq >= this.#seqBlockEnd)
      this.#track(this.#reserveSeqBlock(this.#seqBlockEnd));
    const item: QueuedEvent = {
      id: envelope.id,
      scope: envelope.scope,
      json: JSON.stringify(envelope),
    };
    if (this.#queue.offer(item, item.json.length).status !== 'accepted') {
      // The network is slower than the producer: move what is buffered to disk
      // rather than drop anything, then take the new event.
      this.#spill(this.#queue.drain());
      this.#queue.offer(item, item.json.length);
    }
    const policy = this.#flushPolicy();
    if (this.#queue.size >= policy.maxBatchEvents || this.#queue.bytes >= policy.maxBatchBytes)
      this.#scheduleFlush();
    return { status: 'queued', id: envelope.id };
  }

  /**
   * Delivers queued events and resends spooled batches (oldest first, at
   * most `maxFilesPerRun`). Every batch goes to the spool as it is sent and is
   * removed only once the server answered and the write completed, and the
   * flush returns only when each batch is delivered or on disk, so a crash
   * loses nothing a completed flush held: the server deduplicates by event id.
   *
   * @param options - an abort signal (shutdown deadline).
   * @returns counts of delivered, rejected and deferred events.
   */
  flush(options: { readonly signal?: AbortSignal } = {}): Promise<FlushResult> {
    // After any consent change under way: its purge must run before anything is sent.
    const run = this.#flushChain
      .then(() => this.#consentChain)
      .then(() => this.#flushNow(options.signal));
    this.#flushChain = run.catch(() => undefined);
    return run;
  }

  async #flushNow(signal: AbortSignal | undefined): Promise<FlushResult> {
    this.#flushScheduled = false;
    this.#announceSpoolProblems();
    if (
      this.#enrollment === undefined ||
      this.#identity === undefined ||
      this.#lifecycle === 'unenrolled'
    ) {
      return { delivered: 0, rejected: 0, deferred: 0, resentFiles: 0, reason: 'not enrolled' };
    }
    const policy = this.#flushPolicy();
    const maxFiles = this.#options.spool?.maxFilesPerRun ?? 20;
    // Only what is queued now: events tracked while this flush runs wait for
    // the next one, so a steady producer cannot turn a flush into a stream of
    // tiny files.
    let budget = this.#queue.size;
    // Batches spilled by track() since the last flush come first (they are older), then the
    // queue's. Each is on its way to the spool and is sent from memory while its write
    // proceeds, so a burst is not first written out in full, then read back and decrypted.
    const inMemory = this.#held.takeAll();
    while (budget > 0) {
      const batch = this.#queue.takeBatch({
        maxEvents: policy.maxBatchEvents,
        maxBytes: policy.maxBatchBytes,
      });
      if (batch.items.length === 0) break;
      budget -= batch.items.length;
      const written = this.#writeBatch(batch.items.map((item) => item.json));
      written.custody = 'held';
      inMemory.push(written);
    }
    const run: FlushRun = {
      totals: { delivered: 0, rejected: 0, deferred: 0, resentFiles: 0 },
      stopped: false,
      attempted: [],
      removals: [],
    };
    await this.#deliverInTurn(inMemory, run, signal, (batch) => this.#loadHeld(batch));
    // Copies this flush did not get through (deferred, stale, or stopped) wait on disk, or,
    // when their write failed, are lost.
    for (const batch of inMemory) this.#letGo(batch);
    // Then older spool files, oldest first, read back from disk.
    const inMemoryIds = new Set<string>();
    for (const ref of await Promise.all(inMemory.map((batch) => batch.written)))
      if (ref !== undefined) inMemoryIds.add(ref.id);
    const attempted = new Set<string>();
    for (const ref of await Promise.all(run.attempted))
      if (ref !== undefined) attempted.add(ref.id);
    await Promise.allSettled(run.removals);
    const older = (await this.#listSpool()).filter((ref) => !inMemoryIds.has(ref.id));
    if (
      !(run.stopped || signal?.aborted || this.#isUnenrolled()) &&
      (older.length > 0 || inMemoryIds.size > attempted.size)
    ) {
      // Copies kept while this flush ran are on disk too: each is sent once, from there.
      for (const batch of this.#held.release()) this.#letGo(batch);
      const entries = await this.#spool.takeOldest(maxFiles).catch((error: unknown) => {
        this.#reportError(error);
        return [];
      });
      await this.#deliverInTurn(
        entries.filter((entry) => !attempted.has(entry.ref.id)),
        run,
        signal,
        async (entry) => this.#sendableOf(entry),
      );
    }
    await Promise.allSettled(run.removals);
    this.#noteSpoolTrims();
    // Deferred is what the spool still holds once this flush is done (past the per-run limit,
    // or left for a retry), not only what this run tried and gave up on.
    run.totals.deferred = (await this.#listSpool()).reduce((sum, ref) => sum + ref.itemCount, 0);
    const totals = run.totals;
    this.#lastFlushAt = this.#clock.now();
    this.emit('flush', totals);
    return totals;
  }

  /**
   * Sends entries in order with up to DELIVERIES_IN_FLIGHT on the wire at once, so one batch
   * is sealed and sent while the server answers another. `load` gives the entry to send, or
   * undefined to skip it.
   */
  async #deliverInTurn<T extends { readonly itemCount: number }>(
    items: readonly T[],
    run: FlushRun,
    signal: AbortSignal | undefined,
    load: (item: T) => Promise<Sendable | undefined>,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++] as T;
        if (run.stopped || signal?.aborted || this.#isUnenrolled()) {
          run.totals.deferred += item.itemCount;
          continue;
        }
        const entry = await load(item);
        if (entry === undefined) continue;
        run.attempted.push(entry.ref);
        await this.#deliverEntry(entry, run, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELIVERIES_IN_FLIGHT, items.length) }, worker));
  }

  async #deliverEntry(
    entry: Sendable,
    run: FlushRun,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { totals } = run;
    const outcome =
      entry.kind === 'events'
        ? await this.#deliverEvents(entry.batch, signal)
        : await this.#deliverReport(entry.payload, signal);
    totals.resentFiles++;
    // Taken, refused, or split into two new batches: the server or the spool has the events
    // now, so a failed write of this copy loses nothing.
    const handedOver =
      outcome.kind === 'delivered' || outcome.kind === 'refused' || outcome.kind === 'split';
    if (entry.kind === 'events' && entry.held !== undefined && handedOver)
      entry.held.custody = 'sent';
    if (outcome.kind === 'delivered') {
      totals.delivered += outcome.delivered;
      totals.rejected += outcome.rejected;
      // Not awaited here: the spool runs one operation at a time, and a removal queued behind
      // the writes of a burst must not hold up the next send. The flush awaits them all.
      run.removals.push(this.#removeFromSpool(entry));
    } else if (outcome.kind === 'refused') {
      totals.rejected += entry.itemCount;
      this.#countDrop('rejected_by_server', entry.itemCount, outcome.code);
      run.removals.push(this.#removeFromSpool(entry));
    } else if (outcome.kind === 'split') {
      // Only an event batch is ever too large to take whole; it goes back as two halves.
      const events = entry.kind === 'events' ? entry.batch.events : [];
      const half = Math.ceil(events.length / 2);
      await this.#writeBatch(events.slice(0, half)).written;
      await this.#writeBatch(events.slice(half)).written;
      await this.#removeFromSpool(entry);
    } else {
      totals.deferred += entry.itemCount;
      totals.reason = outcome.reason;
      if (outcome.kind === 'deferred') run.stopped = true;
    }
  }

  /**
   * A held batch, sent from memory without waiting for its write: the flush still returns
   * only once every batch is on disk or delivered, and the file is removed only after both.
   * Sent even when its write failed, since the events are still here. Undefined when consent
   * changed since (the purge rewrote the file, not this copy: the file is sent instead).
   */
  async #loadHeld(batch: HeldBatch): Promise<Sendable | undefined> {
    if (!this.#held.isCurrent(batch)) return undefined;
    return { ref: batch.written, kind: 'events', itemCount: batch.itemCount, batch, held: batch };
  }

  /**
   * A copy no flush will send any more: its events are on disk, or, if its write failed, lost
   * and counted as `overflow` drops (here or when the write fails, whichever comes second).
   */
  #letGo(batch: HeldBatch): void {
    if (batch.custody !== 'held') return;
    batch.custody = 'free';
    if (batch.failed) this.#countDrop('overflow', batch.itemCount);
  }

  /** A spool entry read back from disk, ready to send. */
  #sendableOf(entry: SpoolEntry): Sendable {
    if (entry.kind !== 'events')
      return { ...entry, ref: Promise.resolve(entry.ref), kind: 'report' };
    const batch = decodeEventBatch(entry.payload);
    return { ref: Promise.resolve(entry.ref), kind: 'events', itemCount: entry.itemCount, batch };
  }

  /** Removes a sent entry once it is on disk; never rejects (a failure is reported). */
  async #removeFromSpool(entry: Sendable): Promise<void> {
    const ref = await entry.ref;
    if (ref === undefined) return;
    await this.#spool.remove(ref).catch((error: unknown) => this.#reportError(error));
  }

  async #deliverEvents(stored: StoredBatch, signal: AbortSignal | undefined): Promise<SendOutcome> {
    // Claimed, not copied: a batch in flight beside this one must not report them again.
    const drops = this.#claimUnreportedDrops();
    const batchJson = `{"batchId":${JSON.stringify(stored.batchId)},"sentAt":${JSON.stringify(new Date(this.#clock.now()).toISOString())},"events":[${stored.events.join(',')}]${
      Object.values(drops).some((n) => n > 0) ? `,"drops":${JSON.stringify(drops)}` : ''
    }}`;
    const overSocket = await this.#realtime.sendEventBatch(batchJson);
    const outcome =
      overSocket === undefined
        ? await deliverEventBatch(this.#deliveryContext(signal), batchJson)
        : ({ status: 'delivered', response: overSocket } as const);
    if (outcome.status !== 'delivered') {
      for (const reason of Object.keys(drops) as DropReason[])
        this.#unreportedDrops[reason] += drops[reason];
    }
    switch (outcome.status) {
      case 'delivered': {
        this.#consecutiveUnauthorized = 0;
        this.#setConnection('online');
        await this.#handleEventsResponse(outcome.response);
        const rejected = outcome.response.rejected;
        return {
          kind: 'delivered',
          delivered: outcome.response.accepted + outcome.response.duplicates,
          rejected,
        };
      }
      case 'refused':
        return { kind: 'refused', code: outcome.code };
      case 'too_large':
        return stored.events.length > 1
          ? { kind: 'split' }
          : { kind: 'refused', code: 'payload_too_large' };
      default:
        return this.#settleUndelivered(outcome);
    }
  }

  async #handleEventsResponse(response: EventsResponse): Promise<void> {
    const byCode = new Map<string, number>();
    for (const result of response.results) {
      if (result.status === 'rejected') byCode.set(result.code, (byCode.get(result.code) ?? 0) + 1);
    }
    for (const [code, count] of byCode) this.#countDrop('rejected_by_server', count, code);
    this.emit('results', response);
    await this.#applyConsent(response.consent, { unlessOlder: true });
    this.#handleHttpCommands(response.commands);
  }

  // Commands in HTTP answers run only in a started agent: a one-shot process (a CLI `track`)
  // has none of the integrator's handlers and would wrongly answer `unknown_command`. Not
  // awaited, so a long handler never holds up delivery.
  #handleHttpCommands(commands: EventsResponse['commands']): void {
    if (commands.length === 0 || this.#lifecycle !== 'running') return;
    this.#realtime.handleHttpCommands(commands).catch((error: unknown) => this.#reportError(error));
  }

  // ── jobs ────────────────────────────────────────────────────────────────

  /**
   * Runs a job and reports it: start and end times, status, duration, the
   * metrics `fn` returns, and the error if it threw. The report is sent
   * sealed like events, spooled when the server cannot be reached, and the
   * job's last state kept in `jobs/<name>.json`.
   *
   * @param name - the job's name.
   * @param fn - the work; may return numeric metrics, or throw an error with a numeric
   *   `metrics` property to report what a failed run measured.
   * @returns the job record (with whether it was delivered yet).
   */
  async runJob(
    name: string,
    fn: () => Promise<Record<string, number> | undefined> | Record<string, number> | undefined,
  ): Promise<JobRecord> {
    const startedAt = this.#clock.now();
    let status: 'succeeded' | 'failed' = 'succeeded';
    let metrics: Record<string, number> = {};
    let error: { message: string; code?: string } | undefined;
    try {
      metrics = (await fn()) ?? {};
    } catch (cause) {
      status = 'failed';
      const code = (cause as { code?: unknown }).code;
      // A job that fails can still have measured something (exit code, bytes
      // written): an error carrying numeric `metrics` reports them.
      const carried = (cause as { metrics?: unknown }).metrics;
      if (typeof carried === 'object' && carried !== null) {
        metrics = Object.fromEntries(
          Object.entries(carried).filter(
            (entry): entry is [string, number] =>
              typeof entry[1] === 'number' && Number.isFinite(entry[1]),
          ),
        );
      }
      error = {
        message: cause instanceof Error ? cause.message : String(cause),
        ...(typeof code === 'string' ? { code } : {}),
      };
    }
    const finishedAt = this.#clock.now();
    const report = {
      id: randomUUID(),
      job: name,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      status,
      durationMs: Math.max(0, finishedAt - startedAt),
      metrics,
      ...(error === undefined ? {} : { error }),
    };
    const payload = new TextEncoder().encode(JSON.stringify(report));
    const ref = await this.#spool.write({ kind: 'report', payload, itemCount: 1 });
    let delivered = false;
    if (this.#enrollment !== undefined && this.#lifecycle !== 'unenrolled') {
      const outcome = await this.#deliverReport(payload, undefined);
      if (outcome.kind === 'delivered' || outcome.kind === 'refused') {
        await this.#spool.remove(ref);
        delivered = outcome.kind === 'delivered';
      }
    }
    const record: JobRecord = { ...report, delivered };
    this.#jobs[name] = { status, finishedAt: report.finishedAt, durationMs: report.durationMs };
    await mkdir(this.#paths.jobs, { recursive: true, mode: 0o700 });
    const { id: reportId, ...lastRun } = report;
    await writePrivateFile(
      join(this.#paths.jobs, `${encodeURIComponent(name)}.json`),
      JSON.stringify({ ...lastRun, reportId, delivered }),
    );
    this.emit('job', record);
    return record;
  }

  async #deliverReport(payload: Uint8Array, signal: AbortSignal | undefined): Promise<SendOutcome> {
    const outcome = await deliverReport(
      this.#deliveryContext(signal),
      new TextDecoder().decode(payload),
    );
    switch (outcome.status) {
      case 'delivered':
        this.#consecutiveUnauthorized = 0;
        this.#setConnection('online');
        this.#handleHttpCommands(outcome.response.commands);
        return { kind: 'delivered', delivered: 1, rejected: 0 };
      case 'refused':
      case 'too_large':
        return {
          kind: 'refused',
          code: outcome.status === 'refused' ? outcome.code : 'payload_too_large',
        };
      default:
        return this.#settleUndelivered(outcome);
    }
  }

  async #settleUndelivered(
    outcome: { status: 'unauthorized'; code: string } | { status: 'deferred'; reason: string },
  ): Promise<SendOutcome> {
    if (outcome.status === 'unauthorized') {
      await this.#noteUnauthorized();
      return { kind: 'unauthorized', reason: outcome.code };
    }
    this.#setConnection('offline');
    this.#lastError = outcome.reason;
    return { kind: 'deferred', reason: outcome.reason };
  }

  // ── status ──────────────────────────────────────────────────────────────

  /** A snapshot of everything an operator wants to know. */
  status(): AgentStatus {
    const spool = this.#spool.stats();
    return {
      lifecycle: this.#lifecycle,
      connection: this.#connection,
      deviceId: this.#enrollment?.deviceId ?? null,
      serverUrl: this.#enrollment?.serverUrl ?? null,
      consent: this.#consent,
      queue: { events: this.#queue.size, bytes: this.#queue.bytes },
      spool: {
        files: spool.files,
        bytes: spool.bytes,
        quarantine: spool.quarantine,
        ...(spool.keyMismatch === undefined ? {} : { keyMismatch: spool.keyMismatch }),
      },
      drops: { ...this.#drops },
      lastFlushAt: this.#lastFlushAt === null ? null : new Date(this.#lastFlushAt).toISOString(),
      lastError: this.#lastError,
      jobs: { ...this.#jobs },
      collectors: Object.fromEntries(this.#collectorStates),
      realtime: this.#realtime.status(),
      updatedAt: new Date(this.#clock.now()).toISOString(),
    };
  }

  // ── real time ───────────────────────────────────────────────────────────

  /**
   * Registers the handler of an integrator command type (e.g. `deploy`). Each command id runs
   * at most once, whether it arrives on the socket, in an HTTP answer or by polling; the
   * answer (`acked` when the handler resolves, `rejected` with the error's message when it
   * throws) is remembered for the last 1 000 ids, so a redelivery is re-acked without running
   * again. Types without a handler are answered `rejected` `unknown_command`.
   *
   * @param type - the command type.
   * @param handler - runs the command.
   * @returns a function that removes the handler.
   * @throws {@link AgentError} `invalid_options` for a built-in type (`consent.*`, `config.updated`, `ping`).
   * @example
   * ```ts
   * agent.onCommand('deploy', async (command) => {
   *   await deploy(command.body as { version: string });
   * });
   * ```
   */
  onCommand(type: string, handler: CommandHandler): () => void {
    return this.#realtime.onCommand(type, handler);
  }

  /**
   * Registers the handler of a real-time channel. Bodies are opened with the pinned server
   * key (replays refused); a returned value is sent back sealed as `<type>.result`; a message
   * for a channel without a handler is answered `unknown_channel`.
   *
   * @param name - the channel (1–64 of `A-Z a-z 0-9 . _ -`, not `events`).
   * @param handler - handles one message.
   * @returns a function that removes the handler.
   * @throws {@link AgentError} `invalid_options` for an invalid or reserved name.
   * @example
   * ```ts
   * agent.channel('diagnostics', ({ type }) => (type === 'uptime' ? { uptimeMs: 1234 } : undefined));
   * ```
   */
  channel(name: string, handler: ChannelHandler): () => void {
    return this.#realtime.channel(name, handler);
  }

  /**
   * Sends a request to the server on a channel and waits for its `<type>.result` reply.
   *
   * @param channel - the channel.
   * @param type - the request type.
   * @param body - any JSON value (sealed to the server).
   * @param options - `timeoutMs` (default 10 s).
   * @returns the reply's body (untrusted in shape: validate it).
   * @throws {@link RealtimeError} `not_ready`, `request_timeout`, `connection_closed`,
   *   `remote_error` (server's code in `details.code`) or `invalid_reply`.
   * @example
   * ```ts
   * const reply = await agent.request('inventory', 'lookup', { sku: 'A1' }, { timeoutMs: 5_000 });
   * ```
   */
  request(
    channel: string,
    type: string,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<unknown> {
    return this.#realtime.request(channel, type, body, options);
  }

  /**
   * Writes `status.json` in the state directory (for `fieldline-agent status`): atomically, in
   * order (a snapshot never replaces a newer one this agent wrote), and under a lock shared with
   * other processes on the state directory, where `skipIf` decides from the file as it is.
   *
   * @param options - `skipIf`: leave the file alone, e.g. when a live long-running agent owns it.
   * @returns whether it was written; resolves once the file holds a snapshot taken after the call.
   * @example
   * ```ts
   * await agent.writeStatusFile({ skipIf: (current) => current?.lifecycle === 'running' });
   * ```
   */
  writeStatusFile(options?: StatusWriteOptions): Promise<boolean> {
    return this.#statusFile.write(options);
  }

  // ── consent ─────────────────────────────────────────────────────────────

  // Serialized: a pushed command and an HTTP answer can carry the same change at once, and
  // the second caller must not return before the first has stopped the collectors.
  // `unlessOlder`: an answer computed before a change the agent already holds (two batches in
  // flight, or a socket push overtaking an HTTP answer) must not undo it.
  #applyConsent(next: ConsentSnapshot, options: { unlessOlder?: boolean } = {}): Promise<void> {
    const run = this.#consentChain.then(() =>
      options.unlessOlder === true && isOlderConsent(next, this.#consent)
        ? undefined
        : this.#applyConsentNow(next),
    );
    this.#consentChain = run.catch(() => undefined);
    return run;
  }

  async #applyConsentNow(next: ConsentSnapshot): Promise<void> {
    const previous = this.#consent;
    if (JSON.stringify(previous) === JSON.stringify(next)) return;
    this.#consent = next;
    this.#consentState = fromConsentSnapshot(next);
    await writePrivateFile(
      this.#paths.consent,
      JSON.stringify({ consent: next, updatedAt: new Date(this.#clock.now()).toISOString() }),
    );
    this.emit('consent', next, previous);
    const state = fromConsentSnapshot(next);
    const now = this.#clock.now();
    // Stop collecting first, then purge what was collected under the old consent.
    await this.#syncCollectors();
    if (!this.#options.keepUnsentOnWithdrawal) {
      // Copies in memory would escape the purge of the files below.
      for (const batch of this.#held.invalidate()) this.#letGo(batch);
      const allowed = (scope: string) => canCollect(state, scope, now);
      const queued = this.#queue.drain();
      const kept = queued.filter((item) => allowed(item.scope));
      for (const item of kept) this.#queue.offer(item, item.json.length);
      const purged = await this.#spool.filterEntries((entry) => {
        if (entry.kind !== 'events') return 'keep';
        const stored = decodeEventBatch(entry.payload);
        const events = stored.events.filter((json) =>
          allowed((JSON.parse(json) as { scope: string }).scope),
        );
        if (events.length === stored.events.length) return 'keep';
        if (events.length === 0) return 'drop';
        return {
          payload: encodeEventBatch({ batchId: stored.batchId, events }),
          itemCount: events.length,
        };
      });
      // Purged events count as dropped for lack of consent, so the server sees them in drops.
      this.#countDrop('no_consent', queued.length - kept.length + purged.removedItems);
    }
  }

  // ── collectors ──────────────────────────────────────────────────────────

  // Consent now arrives on two paths at once (a socket command and an HTTP answer): syncs are
  // chained so that two cannot both see a collector stopped and start it twice.
  #syncCollectors(): Promise<void> {
    const run = this.#collectorSync.then(() => this.#syncCollectorsNow());
    this.#collectorSync = run.catch(() => undefined);
    return run;
  }

  async #syncCollectorsNow(): Promise<void> {
    const consent = this.#consentState;
    const now = this.#clock.now();
    for (const collector of this.#options.collectors ?? []) {
      const current = this.#collectorStates.get(collector.name);
      const enabled = this.#config?.collectors[collector.name]?.enabled ?? false;
      const allowed =
        this.#lifecycle === 'running' && enabled && canCollect(consent, collector.scope, now);
      if (current === 'unsupported') continue;
      if (allowed && current !== 'running') {
        const support = await collector.support();
        if (!support.supported) {
          this.#collectorStates.set(collector.name, 'unsupported');
          continue;
        }
        try {
          const intervalMs = this.#config?.collectors[collector.name]?.intervalMs;
          await collector.start(
            (type, data, occurredAtMs) => {
              this.#record(type, data, occurredAtMs);
            },
            intervalMs === undefined ? {} : { intervalMs },
          );
          this.#collectorStates.set(collector.name, 'running');
        } catch (error) {
          this.#reportError(error);
        }
      } else if (!allowed && current === 'running') {
        await this.#stopCollector(collector);
        this.#collectorStates.set(collector.name, enabled ? 'stopped' : 'disabled');
      } else if (current === undefined) {
        this.#collectorStates.set(collector.name, enabled ? 'stopped' : 'disabled');
      }
    }
  }

  async #stopCollector(collector: Collector): Promise<void> {
    try {
      await collector.stop();
    } catch (error) {
      this.#reportError(error);
    }
  }

  async #stopAllCollectors(): Promise<void> {
    for (const collector of this.#options.collectors ?? []) {
      if (this.#collectorStates.get(collector.name) === 'running') {
        await this.#stopCollector(collector);
        this.#collectorStates.set(collector.name, 'stopped');
      }
    }
  }

  // ── internals ───────────────────────────────────────────────────────────

  // A method, not a field read, because a delivery in the loop can change it.
  #isUnenrolled(): boolean {
    return this.#lifecycle === 'unenrolled';
  }

  #requireEnrollment(): EnrollmentFile {
    if (this.#enrollment === undefined) {
      throw new AgentError(
        'not_enrolled',
        'Enroll the agent first (agent.enroll or `fieldline-agent enroll`).',
      );
    }
    return this.#enrollment;
  }

  #deliveryContext(signal: AbortSignal | undefined): DeliveryContext {
    return {
      transport: this.#transport,
      enrollment: this.#requireEnrollment(),
      identity: this.#identity as Identity,
      clock: this.#clock,
      random: this.#random,
      retryPolicy: this.#options.retry ?? {},
      ...(signal === undefined ? {} : { signal }),
    };
  }

  #flushPolicy(): DeviceConfig['flush'] {
    return (
      this.#config?.flush ?? {
        maxBatchEvents: 500,
        maxBatchBytes: 512 * 1024,
        flushIntervalMs: 5_000,
      }
    );
  }

  #armFlushTimer(): void {
    if (this.#flushTimer !== undefined) clearInterval(this.#flushTimer);
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    // Unref'd: an embedding application can exit without calling shutdown().
    this.#flushTimer = setInterval(
      () => this.#scheduleFlush(),
      this.#flushPolicy().flushIntervalMs,
    );
    this.#flushTimer.unref();
    this.#heartbeatTimer = setInterval(() => {
      if (this.#lifecycle === 'running')
        this.heartbeat().catch((error: unknown) => this.#reportError(error));
    }, this.#config?.heartbeatIntervalMs ?? 60_000);
    this.#heartbeatTimer.unref();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#lifecycle !== 'running') return;
    this.#flushScheduled = true;
    setImmediate(() => {
      // A shutdown that began meanwhile does the last flush itself; one queued behind it
      // would run, and emit, after shutdown() resolved.
      if (this.#lifecycle !== 'running') {
        this.#flushScheduled = false;
        return;
      }
      this.flush().catch((error: unknown) => this.#reportError(error));
    });
  }

  /** Moves buffered events to the spool, keeping a copy in memory for the next flush. */
  #spill(items: readonly QueuedEvent[]): void {
    if (items.length === 0) return;
    const batch = this.#writeBatch(items.map((item) => item.json));
    if (this.#held.keep(batch)) batch.custody = 'held';
  }

  /**
   * Starts writing one event batch to the spool. A failed write is reported, and its events
   * are counted as `overflow` drops unless a flush may still send the copy in memory (then
   * they count only if it does not: `#letGo`); `written` settles to undefined, never rejects.
   */
  #writeBatch(events: readonly string[]): HeldBatch {
    const batchId = randomUUID();
    const payload = encodeEventBatch({ batchId, events });
    const written = this.#spool.write({ kind: 'events', payload, itemCount: events.length }).then(
      (ref) => {
        this.#noteSpoolTrims();
        return ref;
      },
      (error: unknown) => {
        batch.failed = true;
        // A copy a flush may still send is counted when the flush lets go of it, if unsent.
        if (batch.custody === 'free') this.#countDrop('overflow', events.length);
        this.#reportError(error);
        return undefined;
      },
    );
    const batch = this.#held.create(batchId, events, written);
    this.#track(written);
    return batch;
  }

  async #spoolQueue(): Promise<void> {
    while (this.#queue.size > 0) {
      const policy = this.#flushPolicy();
      const batch = this.#queue.takeBatch({
        maxEvents: policy.maxBatchEvents,
        maxBytes: policy.maxBatchBytes,
      });
      if (batch.items.length === 0) break;
      await this.#writeBatch(batch.items.map((item) => item.json)).written;
    }
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise
      .catch((error: unknown) => this.#reportError(error))
      .finally(() => this.#pendingWrites.delete(tracked));
    this.#pendingWrites.add(tracked);
  }

  async #reserveSeqBlock(start: number): Promise<void> {
    this.#seqBlockEnd = start + SEQ_BLOCK;
    // Persist the end of the block before using it, so after a crash the next
    // run starts past every seq this one may have handed out.
    await writePrivateFile(this.#paths.seq, JSON.stringify({ nextBlockStart: this.#seqBlockEnd }));
    if (this.#envelopes === undefined) {
      this.#envelopes = createEnvelopeFactory({
        clock: this.#clock,
        random: this.#random,
        startSeq: start,
      });
    }
  }

  #spoolDropsSeen = { spool_trimmed: 0, spool_corrupt: 0, spool_unreadable: 0 };
  #spoolProblemsAnnounced = false;

  /** Moves the spool's own drop counters (trimmed, corrupt, unreadable) into the agent's. */
  #noteSpoolTrims(): void {
    const dropped = this.#spool.stats().dropped;
    for (const reason of ['spool_trimmed', 'spool_corrupt', 'spool_unreadable'] as const) {
      if (dropped[reason] > this.#spoolDropsSeen[reason]) {
        this.#countDrop(reason, dropped[reason] - this.#spoolDropsSeen[reason]);
        this.#spoolDropsSeen[reason] = dropped[reason];
      }
    }
  }

  /** Startup clean-up of the spool; what it finds on disk never stops the agent. */
  async #recoverSpool(): Promise<void> {
    try {
      await this.#spool.recover();
    } catch (error) {
      // The directory itself is unusable: writes will fail and count as drops, loudly.
      this.#lastError = error instanceof Error ? error.message : String(error);
    }
    this.#noteSpoolTrims();
    const mismatch = this.#spool.stats().keyMismatch;
    if (mismatch !== undefined) {
      this.#lastError =
        `${mismatch.files} spool files were written under another spool key (spool.key lost or ` +
        `damaged) and were moved, not deleted, to ${mismatch.directory}; restore the old ` +
        'spool.key and restart to deliver them';
    }
  }

  /**
   * Emits on the `error` event, once, what the spool found at load time (when no listener could
   * be attached yet): entries of another key moved aside.
   */
  #announceSpoolProblems(): void {
    if (this.#spoolProblemsAnnounced) return;
    this.#spoolProblemsAnnounced = true;
    const mismatch = this.#spool.stats().keyMismatch;
    if (mismatch === undefined) return;
    this.emit(
      'error',
      new SpoolError('spool_key_mismatch', this.#lastError ?? 'spool key mismatch', {
        details: { files: mismatch.files, directory: mismatch.directory },
      }),
    );
  }

  /** The spool's entries, or none (reported) when its directory cannot be read. */
  #listSpool(): Promise<readonly SpoolEntryRef[]> {
    return this.#spool.list().catch((error: unknown) => {
      this.#reportError(error);
      return [];
    });
  }

  // Takes the drop counts not yet reported, for one batch to carry; returned on failure.
  #claimUnreportedDrops(): Record<DropReason, number> {
    const claimed = this.#unreportedDrops;
    this.#unreportedDrops = { ...EMPTY_DROPS };
    return claimed;
  }

  #countDrop(reason: DropReason, count: number, code?: string): void {
    if (count <= 0) return;
    this.#drops[reason] += count;
    this.#unreportedDrops[reason] += count;
    this.emit('dropped', code === undefined ? { reason, count } : { reason, count, code });
  }

  // The server closed the socket with 4403: stop like after repeated 401s, without waiting.
  async #onRevoked(): Promise<void> {
    this.#lastError = 'the server revoked this device; enroll again with a new install token';
    this.#setLifecycle('unenrolled');
    await this.#stopAllCollectors();
  }

  async #noteUnauthorized(): Promise<void> {
    this.#consecutiveUnauthorized++;
    if (this.#consecutiveUnauthorized >= (this.#options.unauthorizedThreshold ?? 3)) {
      this.#lastError =
        'the server no longer accepts this device; enroll again with a new install token';
      this.#setLifecycle('unenrolled');
      await this.#stopAllCollectors();
    }
  }

  async #saveConfig(config: DeviceConfig, etag: string | null): Promise<void> {
    const changedInterval = this.#config?.flush.flushIntervalMs !== config.flush.flushIntervalMs;
    this.#config = config;
    this.#configEtag = etag;
    await writePrivateFile(
      this.#paths.config,
      JSON.stringify({ etag, fetchedAt: new Date(this.#clock.now()).toISOString(), config }),
    );
    if (changedInterval && this.#lifecycle === 'running') this.#armFlushTimer();
  }

  async #loadJobs(): Promise<void> {
    Object.assign(this.#jobs, await readJobStates(this.#paths.root));
  }

  #setLifecycle(lifecycle: AgentLifecycle): void {
    if (this.#lifecycle === lifecycle) return;
    this.#lifecycle = lifecycle;
    this.emit('state', { lifecycle, connection: this.#connection });
  }

  #setConnection(connection: ConnectionState): void {
    if (this.#connection === connection) return;
    this.#connection = connection;
    this.emit('state', { lifecycle: this.#lifecycle, connection });
  }

  #reportError(error: unknown): void {
    const wrapped = error instanceof Error ? error : new Error(String(error));
    this.#lastError = wrapped.message;
    // eventemitter3 does not throw on an unhandled 'error' event, so the host is never crashed.
    this.emit('error', wrapped);
  }
}

/**
 * Creates an agent on a state directory (created with mode 0700), loading any
 * identity, enrollment, cached config, consent and spool already there.
 *
 * @param options - state directory, registry, collectors, transport, tuning.
 * @returns the agent, enrolled or not; call `enroll` then `start`. Its
 * `track()` is typed by `options.registry` (the built-in types without one).
 * @throws {@link AgentError} `state_corrupt` or `state_permissions` for a state directory that cannot be trusted.
 */
export async function createAgent<M extends EventTypeMap = BuiltInEventMap>(
  options: AgentOptions<M>,
): Promise<Agent<M>> {
  if (typeof options.stateDir !== 'string' || options.stateDir === '') {
    throw new AgentError(
      'invalid_options',
      'stateDir is required: a directory the agent can keep its state in.',
    );
  }
  const paths = statePaths(options.stateDir);
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  const key = await loadOrCreateSpoolKey(paths.spoolKey, options.spool?.fileSystem);
  const spool = createFileSpool({
    directory: paths.spool,
    ...(options.spool?.fileSystem === undefined ? {} : { fileSystem: options.spool.fileSystem }),
    key,
    clock: options.clock ?? systemClock,
    ...(options.spool?.maxAgeMs === undefined ? {} : { maxAgeMs: options.spool.maxAgeMs }),
    ...(options.spool?.maxTotalBytes === undefined
      ? {}
      : { maxTotalBytes: options.spool.maxTotalBytes }),
    ...(options.spool?.maxFilesPerRun === undefined
      ? {}
      : { maxFilesPerRun: options.spool.maxFilesPerRun }),
  });
  // Pins kept at enrollment apply unless the caller gives its own.
  const kept =
    options.tls === undefined
      ? await readStateFile(paths.tls, tlsFileSchema, { private: true })
      : undefined;
  const tls: AgentTlsOptions | undefined =
    options.tls ??
    (kept === undefined
      ? undefined
      : { pins: kept.pins, ...(kept.ca === undefined ? {} : { ca: kept.ca }) });
  const agent = new Agent<M>(tls === undefined ? options : { ...options, tls }, spool);
  await agent.load();
  return agent;
}
