import { Agent as HttpsAgent } from 'node:https';
import {
  acceptSessionOffer,
  type Clock,
  commandBoxAad,
  createHelloFrame,
  createResumeFrame,
  type Identity,
  messageBoxAad,
  type Random,
  REALTIME_CLOSE_CODES,
  type RealtimeFrame,
  realtimeFrameSchema,
  type SessionOpener,
} from '@fieldline/core';
import type { RawData, WebSocket } from 'ws';
import type { TlsConnectOptions } from '../transport/tls-connect-options.js';
import { isTlsPinError } from '../transport/tls-pin-error.js';
import { closeCodeAction } from './close-code-action.js';
import type { RealtimeConnectionChange, RealtimeState, RealtimeStatus } from './realtime-types.js';
import type { ReconnectBackoff } from './reconnect-backoff.js';

/** The frames a ready connection hands on (everything after the welcome). */
export type InboundFrame = Extract<RealtimeFrame, { kind: 'message' | 'command' | 'error' }>;

/** The body of a server frame, opened from its session box, or why it could not be. */
export type OpenedBody =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly code: 'decrypt_failed' | 'malformed_frame' | 'invalid_payload' };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What {@link RealtimeClient} needs. */
export interface RealtimeClientOptions {
  /**
   * The `ws` WebSocket class, passed in because `ws` is imported only when a socket is first
   * opened: processes that never connect (one-shot CLI commands) do not pay for loading it.
   */
  readonly WebSocket: typeof WebSocket;
  /** `ws(s)://…/v1/ws`. */
  readonly url: string;
  /** CAs and the SPKI pin check for `wss://`. */
  readonly tls?: TlsConnectOptions;
  /** A connection refused by the pin check (then it backs off like any failed connect). */
  readonly onTlsError?: (error: Error) => void;
  readonly deviceId: string;
  readonly identity: Identity;
  /** The server's Ed25519 key pinned at enrollment: it must sign each session offer. */
  readonly serverSigningPublicKey: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly backoff: ReconnectBackoff;
  /** Consecutive failures after which the state is `offline`. */
  readonly maxAttemptsBeforeOffline: number;
  /** From opening the socket to the welcome. */
  readonly connectTimeoutMs: number;
  /** Every state change. */
  readonly onChange: (change: RealtimeConnectionChange) => void;
  /**
   * A frame on a ready connection; `body` is its opened box (commands and messages, which
   * the server always boxes).
   */
  readonly onFrame: (frame: InboundFrame, body: Promise<OpenedBody> | undefined) => void;
  /** The connection closed (pending requests fail). */
  readonly onDisconnect: () => void;
  /** The server closed with 4403: the device was revoked. */
  readonly onRevoked: () => void;
  /** The server closed with 4426: the device must rotate its keys before it reconnects. */
  readonly onRotationRequired?: () => void;
}

// ws defaults to 100 MiB; the server's own cap is 1 MiB, so nothing legitimate is larger.
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/**
 * One device's WebSocket to the server and the state machine of docs/protocol.md §4.10:
 * connect, hello or resume, welcome, a silence watchdog, reconnects with full-jitter backoff,
 * `offline` after too many failures (still retrying in the background), and the close codes
 * of §4.6. Frames after the welcome go to `onFrame`.
 */
export class RealtimeClient {
  readonly #options: RealtimeClientOptions;
  #state: RealtimeState = 'stopped';
  #sinceMs: number;
  #attempts = 0;
  #lastCloseCode: number | null = null;
  #session: { readonly token: string; readonly expiresAtMs: number } | undefined;
  #socket: WebSocket | undefined;
  // `challenged`: the socket is open and waits for the server's challenge to sign.
  #phase: 'opening' | 'challenged' | 'registering' | 'ready' = 'opening';
  // The nonce of this connection's hello or resume: the welcome's session is bound to it.
  #nonce = '';
  #opener: SessionOpener | undefined;
  #usedResume = false;
  #offline = false;
  #stopping = true;
  #retryTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #silenceTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> = Promise.resolve();
  // ws hands an agent's options to tls.connect; its own typing of checkServerIdentity is not
  // Node's, so the pin check travels in an https.Agent rather than in ws's options.
  readonly #tlsAgent: HttpsAgent | undefined;

  /** @param options - URL, identity, timings and callbacks. */
  constructor(options: RealtimeClientOptions) {
    this.#options = options;
    const tls = options.tls ?? {};
    this.#tlsAgent =
      options.url.startsWith('wss:') &&
      (tls.ca !== undefined || tls.checkServerIdentity !== undefined)
        ? new HttpsAgent({ ...tls })
        : undefined;
    this.#sinceMs = options.clock.now();
  }

  /** The current state. */
  get state(): RealtimeState {
    return this.#state;
  }

  /** The status section of `agent.status()`. */
  status(): RealtimeStatus {
    return {
      state: this.#state,
      since: new Date(this.#sinceMs).toISOString(),
      attempts: this.#attempts,
      lastCloseCode: this.#lastCloseCode,
      sessionExpiresAt:
        this.#session === undefined ? null : new Date(this.#session.expiresAtMs).toISOString(),
    };
  }

  /** Starts connecting (no-op when already started). */
  start(): void {
    if (!this.#stopping) return;
    this.#stopping = false;
    this.#attempts = 0;
    this.#offline = false;
    this.#connect();
  }

  /**
   * Closes the connection with 1000 and stops reconnecting; resolves once closed (or after a
   * one-second grace, when the server does not complete the close).
   */
  async stop(): Promise<void> {
    if (this.#stopping && this.#socket === undefined) {
      this.#setState('stopped');
      return;
    }
    this.#stopping = true;
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    if (socket !== undefined) {
      if (socket.readyState === socket.OPEN) socket.close(1000, 'shutdown');
      else socket.terminate();
      const grace = setTimeout(() => socket.terminate(), 1_000);
      await this.#closed;
      clearTimeout(grace);
    }
    this.#setState('stopped');
  }

  /**
   * Sends a frame on a ready connection.
   *
   * @param frame - the frame object.
   * @returns false when there is no ready connection (nothing was sent).
   */
  send(frame: RealtimeFrame): boolean {
    const socket = this.#socket;
    if (socket === undefined || this.#phase !== 'ready' || socket.readyState !== socket.OPEN) {
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  #setState(state: RealtimeState, closeCode?: number): void {
    if (this.#state === state) return;
    const previous = this.#state;
    this.#state = state;
    this.#sinceMs = this.#options.clock.now();
    this.#options.onChange({
      state,
      previous,
      attempts: this.#attempts,
      ...(closeCode === undefined ? {} : { closeCode }),
      at: new Date(this.#sinceMs).toISOString(),
    });
  }

  // While offline, background attempts keep the state `offline` until one is welcomed, so the
  // status an operator reads does not flicker through connecting/registering every minute.
  #progress(state: 'connecting' | 'connected' | 'registering'): void {
    if (!this.#offline) this.#setState(state);
  }

  #connect(): void {
    if (this.#stopping) return;
    this.#progress('connecting');
    this.#phase = 'opening';
    const socket = new this.#options.WebSocket(this.#options.url, {
      handshakeTimeout: this.#options.connectTimeoutMs,
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD_BYTES,
      ...(this.#tlsAgent === undefined ? {} : { agent: this.#tlsAgent }),
    });
    this.#socket = socket;
    let markClosed: () => void = () => undefined;
    this.#closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    // Covers a server that upgrades but never welcomes.
    this.#connectTimer = setTimeout(() => socket.terminate(), this.#options.connectTimeoutMs);
    this.#connectTimer.unref();
    socket.on('upgrade', (response) => {
      // Like the agent's timers: an embedding application may exit without calling shutdown().
      response.socket.unref();
    });
    socket.on('open', () => this.#onOpen(socket));
    socket.on('message', (data, isBinary) => this.#onMessage(socket, data, isBinary));
    socket.on('ping', () => this.#noteLife(socket));
    socket.on('pong', () => this.#noteLife(socket));
    // ws reports refused connections and protocol errors here, then always emits 'close'.
    socket.on('error', (error) => {
      if (isTlsPinError(error)) this.#options.onTlsError?.(error);
    });
    socket.on('close', (code) => {
      markClosed();
      this.#onClose(socket, code);
    });
  }

  #onOpen(socket: WebSocket): void {
    if (socket !== this.#socket) return;
    // The hello or resume must sign the challenge the server sends first (§4.2).
    this.#phase = 'challenged';
    this.#progress('connected');
  }

  #onChallenge(socket: WebSocket, challenge: string): void {
    const session = this.#session;
    const now = this.#options.clock.now();
    // A token about to expire would only earn a 4401 and a second round trip.
    this.#usedResume = session !== undefined && session.expiresAtMs - now > 60_000;
    const first =
      this.#usedResume && session !== undefined
        ? createResumeFrame(
            this.#options.deviceId,
            this.#options.identity,
            session.token,
            challenge,
            {
              random: this.#options.random,
            },
          )
        : createHelloFrame(this.#options.deviceId, this.#options.identity, challenge, {
            clock: this.#options.clock,
            random: this.#options.random,
          });
    this.#nonce = first.nonce;
    socket.send(JSON.stringify(first));
    this.#phase = 'registering';
    this.#progress('registering');
  }

  #onMessage(socket: WebSocket, data: RawData, isBinary: boolean): void {
    if (socket !== this.#socket) return;
    this.#noteLife(socket);
    if (isBinary) return;
    let frame: RealtimeFrame | undefined;
    try {
      const parsed = realtimeFrameSchema.safeParse(JSON.parse(data.toString()));
      if (parsed.success) frame = parsed.data;
    } catch {
      // Not JSON: ignored, like any frame this version does not understand.
    }
    if (frame === undefined) return;
    if (frame.kind === 'challenge') {
      if (this.#phase === 'challenged') this.#onChallenge(socket, frame.challenge);
      return;
    }
    if (frame.kind === 'welcome') {
      if (this.#phase === 'registering') this.#onWelcome(socket, frame);
      return;
    }
    if (this.#phase !== 'ready') return;
    if (frame.kind === 'error') {
      this.#options.onFrame(frame, undefined);
      return;
    }
    if (frame.kind === 'message' || frame.kind === 'command') {
      // Boxes are numbered by arrival, so each is opened now, before any await, even one the
      // agent will not use (a redelivery, a late reply).
      this.#options.onFrame(frame, this.#openBox(socket, frame));
    }
  }

  #openBox(
    socket: WebSocket,
    frame: Extract<RealtimeFrame, { kind: 'message' | 'command' }>,
  ): Promise<OpenedBody> {
    const opener = this.#opener;
    const box = frame.box;
    if (opener === undefined || box === undefined) {
      this.#breakSession(socket);
      return Promise.resolve({ ok: false, code: 'malformed_frame' });
    }
    const aad = frame.kind === 'command' ? commandBoxAad(frame.id) : messageBoxAad(frame);
    return opener.open(box, aad).then((opened): OpenedBody => {
      if (!opened.ok) {
        this.#breakSession(socket);
        return {
          ok: false,
          code: opened.error.code === 'malformed_frame' ? 'malformed_frame' : 'decrypt_failed',
        };
      }
      try {
        return { ok: true, body: JSON.parse(utf8.decode(opened.value)) as unknown };
      } catch {
        return { ok: false, code: 'invalid_payload' };
      }
    });
  }

  // A box that does not open means the stream was altered or cut: nothing later on this
  // connection can be trusted, so it is dropped and the next one starts a fresh session.
  #breakSession(socket: WebSocket): void {
    if (socket === this.#socket && socket.readyState === socket.OPEN) {
      socket.close(REALTIME_CLOSE_CODES.invalidFrame, 'invalid_frame');
    }
  }

  #onWelcome(socket: WebSocket, welcome: Extract<RealtimeFrame, { kind: 'welcome' }>): void {
    const opener = acceptSessionOffer({
      device: this.#options.identity,
      deviceId: this.#options.deviceId,
      nonce: this.#nonce,
      offer: welcome.session,
      serverSigningPublicKey: this.#options.serverSigningPublicKey,
    });
    if (!opener.ok) {
      // Not the pinned server (or not for this connection): treated like a failed connect.
      socket.close(REALTIME_CLOSE_CODES.unauthenticated, 'bad_session');
      return;
    }
    this.#opener = opener.value;
    clearTimeout(this.#connectTimer);
    this.#phase = 'ready';
    this.#session = { token: welcome.sessionToken, expiresAtMs: Date.parse(welcome.expiresAt) };
    this.#attempts = 0;
    this.#offline = false;
    // Silence longer than the server's own timeout means the path is dead even if TCP has not
    // noticed (a NAT dropped the mapping, a laptop slept): reconnect instead of waiting.
    this.#silenceTimer = setTimeout(() => socket.terminate(), welcome.heartbeatTimeoutMs);
    this.#silenceTimer.unref();
    this.#setState('ready');
  }

  #noteLife(socket: WebSocket): void {
    if (socket === this.#socket) this.#silenceTimer?.refresh();
  }

  #onClose(socket: WebSocket, code: number): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    this.#opener = undefined;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#silenceTimer);
    this.#silenceTimer = undefined;
    this.#lastCloseCode = code;
    const wasResume = this.#usedResume;
    this.#phase = 'opening';
    this.#options.onDisconnect();
    switch (closeCodeAction(code, this.#stopping)) {
      case 'stop':
        this.#setState('stopped', code);
        return;
      case 'revoked':
        this.#stopping = true;
        this.#session = undefined;
        this.#setState('stopped', code);
        this.#options.onRevoked();
        return;
      case 'new_hello':
        this.#session = undefined;
        // A refused resume is answered at once with a hello; a refused hello is a failure.
        if (wasResume) {
          this.#schedule(0, code);
          return;
        }
        this.#fail(code);
        return;
      case 'rotate':
        this.#session = undefined;
        this.#options.onRotationRequired?.();
        this.#fail(code);
        return;
      case 'wait_cap':
        this.#schedule(this.#options.backoff.capMs, code);
        return;
      case 'backoff':
        this.#fail(code);
        return;
    }
  }

  #fail(code: number): void {
    this.#attempts += 1;
    if (this.#attempts >= this.#options.maxAttemptsBeforeOffline) this.#offline = true;
    this.#schedule(this.#options.backoff.delayMs(this.#attempts), code);
  }

  #schedule(delayMs: number, code: number): void {
    this.#setState(this.#offline ? 'offline' : 'retrying', code);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), delayMs);
    this.#retryTimer.unref();
  }
}
