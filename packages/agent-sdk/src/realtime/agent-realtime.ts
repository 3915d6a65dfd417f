import { randomUUID } from 'node:crypto';
import {
  type Clock,
  type Command,
  type ConsentSnapshot,
  commandSchema,
  consentSnapshotSchema,
  type EventsResponse,
  eventsResponseSchema,
  type Identity,
  type Random,
  SealKind,
} from '@fieldline/core';
import { z } from 'zod';
import { AgentError } from '../agent-errors.js';
import type { EnrollmentFile } from '../state/state-files.js';
import type { Transport } from '../transport/http-transport.js';
import type { TlsConnectOptions } from '../transport/tls-connect-options.js';
import { type CommandDispatcher, createCommandDispatcher } from './command-dispatcher.js';
import { type CommandLedger, loadCommandLedger } from './command-ledger.js';
import { pollCommands, postCommandAck } from './http-commands.js';
import { createInFlightWork } from './in-flight-work.js';
import { createPendingRequests } from './pending-requests.js';
import { type InboundFrame, type OpenedBody, RealtimeClient } from './realtime-client.js';
import { RealtimeError } from './realtime-errors.js';
import type {
  ChannelHandler,
  CommandAnswer,
  CommandHandler,
  HandledCommand,
  RealtimeConnectionChange,
  RealtimeOptions,
  RealtimeStatus,
  RequestOptions,
} from './realtime-types.js';
import { createReconnectBackoff, type ReconnectBackoff } from './reconnect-backoff.js';
import { type FrameParties, sealBytesForServer, sealForServer } from './server-frames.js';

/** What the agent lends its real-time side. */
export interface RealtimeHost {
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: Transport;
  /** CAs and the SPKI pin check for `wss://`, the same as the HTTP transport's. */
  readonly tls: TlsConnectOptions;
  /** `<stateDir>/commands-seen.json`. */
  readonly ledgerPath: string;
  enrollment(): EnrollmentFile | undefined;
  identity(): Identity | undefined;
  /** Applies a pushed snapshot unless it is older than the one held (`isOlderConsent`). */
  applyConsent(snapshot: ConsentSnapshot): Promise<void>;
  refreshConfig(): Promise<void>;
  /** The server closed with 4403. */
  revoked(): Promise<void>;
  /** The server closed with 4426: rotate the device keys (the agent restarts the socket after). */
  rotationRequired(): Promise<void>;
  /** A welcome arrived: the server is reachable. */
  reachable(): void;
  emitConnection(change: RealtimeConnectionChange): void;
  emitCommand(handled: HandledCommand): void;
  reportError(error: unknown): void;
}

/** The command types the agent itself handles (docs/protocol.md §4.5). */
export const BUILT_IN_COMMANDS = ['consent.withdrawn', 'consent.updated', 'config.updated', 'ping'];

const CHANNEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const consentBodySchema = z.object({ consent: consentSnapshotSchema });

/**
 * The agent's real-time side: the socket client, channel handlers and requests, command
 * dispatch (socket, HTTP responses, and polling while offline) with acks both ways.
 */
export class AgentRealtime {
  readonly #options: RealtimeOptions;
  readonly #host: RealtimeHost;
  readonly #backoff: ReconnectBackoff;
  readonly #handlers = new Map<string, CommandHandler>();
  readonly #channels = new Map<string, ChannelHandler>();
  readonly #pending = createPendingRequests();
  #dispatcher: Promise<CommandDispatcher> | undefined;
  #client: RealtimeClient | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling = false;
  // Bumped by stop(), so a start() still awaiting its imports does not open a socket after it.
  #generation = 0;
  // Command handling and acks under way, which the agent's shutdown waits for (bounded).
  readonly #inFlight = createInFlightWork();
  // Set by close(): what is still running after the shutdown gave up waiting reports nothing.
  #closed = false;
  readonly #createdAtMs: number;

  /**
   * @param options - the agent's `realtime` options.
   * @param host - what the agent lends.
   * @throws {@link AgentError} `invalid_options` for bad timings.
   */
  constructor(options: RealtimeOptions | undefined, host: RealtimeHost) {
    this.#options = options ?? {};
    this.#host = host;
    this.#createdAtMs = host.clock.now();
    try {
      this.#backoff = createReconnectBackoff({
        ...(this.#options.backoff?.baseMs === undefined
          ? {}
          : { baseMs: this.#options.backoff.baseMs }),
        ...(this.#options.backoff?.capMs === undefined
          ? {}
          : { capMs: this.#options.backoff.capMs }),
        random: host.random,
      });
    } catch (cause) {
      throw new AgentError('invalid_options', (cause as Error).message, { cause });
    }
    for (const name of [
      'maxAttemptsBeforeOffline',
      'pollIntervalMs',
      'connectTimeoutMs',
    ] as const) {
      const value = this.#options[name];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new AgentError('invalid_options', `realtime.${name} must be a positive integer.`);
      }
    }
  }

  /** Registers an integrator command handler; see `Agent.onCommand`. */
  onCommand(type: string, handler: CommandHandler): () => void {
    if (BUILT_IN_COMMANDS.includes(type)) {
      throw new AgentError('invalid_options', `"${type}" is a built-in command of the agent.`);
    }
    if (typeof type !== 'string' || type.length === 0 || type.length > 128) {
      throw new AgentError('invalid_options', 'A command type is 1–128 characters.');
    }
    this.#handlers.set(type, handler);
    return () => {
      if (this.#handlers.get(type) === handler) this.#handlers.delete(type);
    };
  }

  /** Registers a channel handler; see `Agent.channel`. */
  channel(name: string, handler: ChannelHandler): () => void {
    if (!CHANNEL_NAME.test(name) || name === 'events') {
      throw new AgentError(
        'invalid_options',
        `"${name}" cannot be a channel name: use 1–64 of A-Z a-z 0-9 . _ - (and not "events").`,
      );
    }
    this.#channels.set(name, handler);
    return () => {
      if (this.#channels.get(name) === handler) this.#channels.delete(name);
    };
  }

  /** Sends a request on a channel and waits for the reply; see `Agent.request`. */
  async request(
    channel: string,
    type: string,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<unknown> {
    const client = this.#client;
    const parties = this.#parties();
    if (client === undefined || client.state !== 'ready' || parties === undefined) {
      throw new RealtimeError('not_ready', 'The real-time connection is not ready.', {
        details: { state: client?.state ?? 'stopped' },
      });
    }
    const id = randomUUID();
    const sealed = await sealForServer(parties, SealKind.ChannelMessage, body);
    const reply = this.#pending.wait(
      id,
      options.timeoutMs ?? this.#options.requestTimeoutMs ?? 10_000,
    );
    const sent = client.send({
      kind: 'message',
      id,
      channel,
      type,
      ts: this.#host.clock.now(),
      sealed,
    });
    if (!sent) {
      this.#pending.reject(
        id,
        new RealtimeError('not_ready', 'The real-time connection closed before sending.'),
      );
    }
    return reply;
  }

  /**
   * Delivers one event batch on the socket when `sendEventsOverSocket` is on and the socket is
   * ready. Never throws.
   *
   * @param batchJson - the `EventBatch` plaintext, exactly what HTTP would seal.
   * @returns the server's answer, or undefined when the caller must use HTTP.
   */
  async sendEventBatch(batchJson: string): Promise<EventsResponse | undefined> {
    const client = this.#client;
    const parties = this.#parties();
    if (this.#options.sendEventsOverSocket !== true || parties === undefined) return undefined;
    if (client === undefined || client.state !== 'ready') return undefined;
    try {
      const id = randomUUID();
      const sealed = await sealBytesForServer(
        parties,
        SealKind.EventBatch,
        new TextEncoder().encode(batchJson),
      );
      const reply = this.#pending.wait(id, this.#options.requestTimeoutMs ?? 10_000);
      const sent = client.send({
        kind: 'message',
        id,
        channel: 'events',
        type: 'batch',
        ts: this.#host.clock.now(),
        sealed,
      });
      if (!sent) {
        this.#pending.reject(id, new RealtimeError('not_ready', 'The socket closed.'));
      }
      const parsed = eventsResponseSchema.safeParse(await reply);
      return parsed.success ? parsed.data : undefined;
    } catch {
      // Refused, timed out or closed: HTTP decides, with its retry policy and status codes.
      return undefined;
    }
  }

  /** Opens the socket, unless disabled or not enrolled. */
  async start(): Promise<void> {
    const generation = this.#generation;
    this.#closed = false;
    await this.#getDispatcher();
    if (this.#options.enabled === false || this.#client !== undefined) return;
    const enrollment = this.#host.enrollment();
    const identity = this.#host.identity();
    if (enrollment === undefined || identity === undefined) return;
    const { WebSocket } = await import('ws');
    if (this.#client !== undefined || generation !== this.#generation) return;
    this.#client = new RealtimeClient({
      WebSocket,
      url: this.#options.url ?? realtimeUrl(enrollment.serverUrl),
      tls: this.#host.tls,
      onTlsError: (error) => this.#host.reportError(error),
      deviceId: enrollment.deviceId,
      identity,
      serverSigningPublicKey: enrollment.serverPublicKeys.signingPublicKey,
      clock: this.#host.clock,
      random: this.#host.random,
      backoff: this.#backoff,
      maxAttemptsBeforeOffline: this.#options.maxAttemptsBeforeOffline ?? 10,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 15_000,
      onChange: (change) => this.#onChange(change),
      onFrame: (frame, body) => {
        this.#inFlight.add(
          this.#onFrame(frame, body).catch((error: unknown) => this.#reportError(error)),
        );
      },
      onDisconnect: () =>
        this.#pending.rejectAll(
          () => new RealtimeError('connection_closed', 'The connection closed before the reply.'),
        ),
      onRevoked: () => {
        this.#host.revoked().catch((error: unknown) => this.#reportError(error));
      },
      onRotationRequired: () => {
        this.#host.rotationRequired().catch((error: unknown) => this.#host.reportError(error));
      },
    });
    this.#client.start();
  }

  /**
   * Closes the socket with 1000 and stops polling. Commands already being handled go on, and
   * their acks go over HTTP: wait for them with {@link AgentRealtime.drain}.
   */
  async stop(): Promise<void> {
    this.#generation++;
    this.#stopPolling();
    const client = this.#client;
    this.#client = undefined;
    await client?.stop();
  }

  /**
   * Waits for the commands being handled and their acks (socket frames, HTTP answers, polls).
   *
   * @param timeoutMs - how long to wait at most.
   * @returns true when all settled, false when the time ran out first.
   */
  drain(timeoutMs: number): Promise<boolean> {
    return this.#inFlight.settled(timeoutMs);
  }

  /**
   * Ends reporting: work still running after the shutdown stopped waiting (a hung handler, an
   * ack to an unreachable server) emits no `command` or `error` event, and applies nothing, once
   * `shutdown()` has resolved. `start()` opens again.
   */
  close(): void {
    this.#closed = true;
  }

  /** The status section. */
  status(): RealtimeStatus {
    return (
      this.#client?.status() ?? {
        state: 'stopped',
        since: new Date(this.#createdAtMs).toISOString(),
        attempts: 0,
        lastCloseCode: null,
        sessionExpiresAt: null,
      }
    );
  }

  /**
   * Handles the `commands` of an HTTP response (events, reports): each runs at most once and
   * is acked over HTTP. Never throws.
   *
   * @param commands - the response's commands.
   */
  handleHttpCommands(commands: readonly Command[]): Promise<void> {
    const work = (async () => {
      for (const command of commands) {
        if (this.#closed) return;
        await this.#handleOverHttp(command);
      }
    })();
    this.#inFlight.add(work);
    return work;
  }

  // ── internals ───────────────────────────────────────────────────────────

  #parties(): FrameParties | undefined {
    const enrollment = this.#host.enrollment();
    const identity = this.#host.identity();
    if (enrollment === undefined || identity === undefined) return undefined;
    return { enrollment, identity, clock: this.#host.clock };
  }

  #getDispatcher(): Promise<CommandDispatcher> {
    this.#dispatcher ??= loadCommandLedger({
      path: this.#host.ledgerPath,
      now: () => new Date(this.#host.clock.now()).toISOString(),
    }).then((ledger: CommandLedger) =>
      createCommandDispatcher({ ledger, handlers: this.#handlers, builtIns: this.#builtIns() }),
    );
    return this.#dispatcher;
  }

  #builtIns(): ReadonlyMap<string, CommandHandler> {
    const applyConsent: CommandHandler = async (command) => {
      const body = consentBodySchema.safeParse(command.body);
      if (!body.success) throw new Error('invalid_body: expected { consent: ConsentSnapshot }');
      // The host skips a snapshot older than the one it holds (a command queued before the
      // change the agent already learned from a fresher answer), checked in its consent queue
      // so that two snapshots in flight cannot both pass the check against the same state.
      await this.#host.applyConsent(body.data.consent);
    };
    return new Map<string, CommandHandler>([
      ['consent.withdrawn', applyConsent],
      ['consent.updated', applyConsent],
      ['config.updated', () => this.#host.refreshConfig()],
      ['ping', () => undefined],
    ]);
  }

  #onChange(change: RealtimeConnectionChange): void {
    if (change.state === 'ready') this.#host.reachable();
    if (change.state === 'offline') this.#startPolling();
    else if (change.state === 'ready' || change.state === 'stopped') this.#stopPolling();
    if (!this.#closed) this.#host.emitConnection(change);
  }

  #reportError(error: unknown): void {
    if (!this.#closed) this.#host.reportError(error);
  }

  #emitCommand(handled: HandledCommand): void {
    if (!this.#closed) this.#host.emitCommand(handled);
  }

  async #onFrame(frame: InboundFrame, body: Promise<OpenedBody> | undefined): Promise<void> {
    switch (frame.kind) {
      case 'command':
        if (body !== undefined) await this.#onCommandFrame(frame, body);
        return;
      case 'message':
        if (body !== undefined) await this.#onMessageFrame(frame, body);
        return;
      case 'error':
        if (frame.replyTo !== undefined && this.#pending.has(frame.replyTo)) {
          this.#pending.reject(
            frame.replyTo,
            new RealtimeError('remote_error', frame.message, { details: { code: frame.code } }),
          );
        } else {
          this.#reportError(
            new RealtimeError(
              'remote_error',
              `The server reported ${frame.code}: ${frame.message}`,
              {
                details: { code: frame.code },
              },
            ),
          );
        }
        return;
    }
  }

  async #onCommandFrame(
    frame: Extract<InboundFrame, { kind: 'command' }>,
    body: Promise<OpenedBody>,
  ): Promise<void> {
    const dispatcher = await this.#getDispatcher();
    // The frame repeats the id (bound to its box) so a redelivery is answered from the ledger.
    const remembered = dispatcher.remembered(frame.id);
    if (remembered !== undefined) {
      await this.#ackOnSocket(frame.id, remembered.answer);
      this.#emitCommand({
        id: frame.id,
        type: remembered.type,
        via: 'socket',
        answer: remembered.answer,
        duplicate: true,
      });
      return;
    }
    const opened = await body;
    // An unopenable or inconsistent frame is not acked: it may not be the server's, and the
    // server redelivers what it really sent (the client has already dropped the connection).
    if (!opened.ok) {
      this.#reportError(
        new RealtimeError('invalid_frame', `A command frame was refused: ${opened.code}.`, {
          details: { id: frame.id, code: opened.code },
        }),
      );
      return;
    }
    const command = commandSchema.safeParse(opened.body);
    if (!command.success || command.data.id !== frame.id) {
      this.#reportError(
        new RealtimeError('invalid_frame', 'A command frame did not hold the command it named.', {
          details: { id: frame.id },
        }),
      );
      return;
    }
    const handled = await dispatcher.dispatch(command.data, 'socket');
    await this.#ackOnSocket(frame.id, handled.answer);
    this.#emitCommand(handled);
  }

  async #ackOnSocket(id: string, answer: CommandAnswer): Promise<void> {
    const sent = this.#client?.send({
      kind: 'ack',
      id,
      status: answer.status,
      ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    });
    // The socket dropped while the handler ran: the answer goes by HTTP instead.
    if (sent !== true) await this.#ackOverHttp(id, answer);
  }

  async #ackOverHttp(id: string, answer: CommandAnswer): Promise<void> {
    const enrollment = this.#host.enrollment();
    if (enrollment === undefined) return;
    const result = await postCommandAck(this.#host.transport, enrollment, id, answer);
    if (!result.ok) {
      this.#reportError(
        new RealtimeError(
          'ack_failed',
          `Could not ack command ${id} (${result.reason ?? 'no answer'}); the server will redeliver it.`,
          { details: { id } },
        ),
      );
    }
  }

  async #handleOverHttp(command: Command): Promise<void> {
    try {
      const dispatcher = await this.#getDispatcher();
      const handled = await dispatcher.dispatch(command, 'http');
      await this.#ackOverHttp(command.id, handled.answer);
      this.#emitCommand(handled);
    } catch (error) {
      this.#reportError(error);
    }
  }

  async #onMessageFrame(
    frame: Extract<InboundFrame, { kind: 'message' }>,
    body: Promise<OpenedBody>,
  ): Promise<void> {
    const parties = this.#parties();
    if (parties === undefined) return;
    if (frame.replyTo !== undefined) {
      // A reply nobody waits for (timed out) is dropped.
      if (!this.#pending.has(frame.replyTo)) return;
      const opened = await body;
      if (opened.ok) this.#pending.resolve(frame.replyTo, opened.body);
      else {
        this.#pending.reject(
          frame.replyTo,
          new RealtimeError('invalid_reply', `The reply could not be opened: ${opened.code}.`, {
            details: { code: opened.code },
          }),
        );
      }
      return;
    }
    const handler = this.#channels.get(frame.channel);
    if (handler === undefined) {
      this.#sendError(frame.id, 'unknown_channel', `No handler serves channel "${frame.channel}".`);
      return;
    }
    const opened = await body;
    if (!opened.ok) {
      this.#sendError(frame.id, opened.code, 'The message could not be opened.');
      return;
    }
    let result: unknown;
    try {
      result = await handler({
        id: frame.id,
        channel: frame.channel,
        type: frame.type,
        body: opened.body,
      });
    } catch (error) {
      this.#sendError(
        frame.id,
        'handler_failed',
        error instanceof Error ? error.message.slice(0, 4_096) : 'The handler failed.',
      );
      return;
    }
    if (result === undefined) return;
    const sealed = await sealForServer(parties, SealKind.ChannelMessage, result);
    this.#client?.send({
      kind: 'message',
      id: randomUUID(),
      channel: frame.channel,
      type: `${frame.type}.result`.slice(0, 128),
      ts: this.#host.clock.now(),
      sealed,
      replyTo: frame.id,
    });
  }

  #sendError(replyTo: string, code: string, message: string): void {
    this.#client?.send({ kind: 'error', code, message, replyTo });
  }

  #startPolling(): void {
    if (this.#pollTimer !== undefined) return;
    const poll = (): void => {
      this.#inFlight.add(this.#pollOnce().catch((error: unknown) => this.#reportError(error)));
    };
    this.#pollTimer = setInterval(poll, this.#options.pollIntervalMs ?? 30_000);
    this.#pollTimer.unref();
    poll();
  }

  #stopPolling(): void {
    if (this.#pollTimer !== undefined) clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
  }

  async #pollOnce(): Promise<void> {
    const enrollment = this.#host.enrollment();
    // One poll at a time: a slow server must not pile up overlapping deliveries.
    if (this.#polling || enrollment === undefined) return;
    this.#polling = true;
    try {
      const result = await pollCommands(this.#host.transport, enrollment);
      if (result.status === 'ok') await this.handleHttpCommands(result.commands);
    } finally {
      this.#polling = false;
    }
  }
}

/**
 * The WebSocket URL of a server: `http(s)` becomes `ws(s)`, path `/v1/ws`.
 *
 * @param serverUrl - the enrolled server URL.
 * @returns the URL to connect to.
 */
export function realtimeUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/ws`;
  return url.toString();
}
