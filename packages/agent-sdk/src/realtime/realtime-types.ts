/**
 * Where the agent's real-time connection stands (docs/protocol.md §4.10).
 *
 * - `connecting`: opening the WebSocket;
 * - `connected`: upgraded, waiting for the server's challenge (the hello or resume not sent yet);
 * - `registering`: hello or resume sent, waiting for the welcome;
 * - `ready`: welcomed; pushes arrive and requests can be sent;
 * - `retrying`: waiting a backoff before the next attempt;
 * - `offline`: too many consecutive failures: commands are polled over HTTP and the socket is
 *   still retried in the background;
 * - `stopped`: not started, shut down, disabled, or the device was revoked (4403).
 */
export type RealtimeState =
  | 'connecting'
  | 'connected'
  | 'registering'
  | 'ready'
  | 'retrying'
  | 'offline'
  | 'stopped';

/** Options of the real-time connection (`createAgent({ realtime })`). */
export interface RealtimeOptions {
  /**
   * Open the WebSocket on `start()`. When false, commands still arrive with HTTP responses.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Full-jitter exponential backoff between connection attempts.
   * @default { baseMs: 1_000, capMs: 60_000 }
   */
  readonly backoff?: {
    /** @default 1_000 */
    readonly baseMs?: number;
    /** @default 60_000 */
    readonly capMs?: number;
  };
  /**
   * Consecutive failed attempts after which the agent goes `offline` and polls commands.
   * @default 10
   */
  readonly maxAttemptsBeforeOffline?: number;
  /**
   * Interval of `GET /v1/commands` while `offline`.
   * @default 30_000
   */
  readonly pollIntervalMs?: number;
  /**
   * Time from opening the socket to the welcome before the attempt counts as failed.
   * @default 15_000
   */
  readonly connectTimeoutMs?: number;
  /**
   * Default wait of `agent.request()`.
   * @default 10_000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Send event batches on the socket (channel `events`, type `batch`) while it is `ready`.
   * Any failure there (not ready, an `error` frame, no reply in `requestTimeoutMs`) falls back
   * to HTTP with its retry policy; the server stores each event id once, so a batch that went
   * both ways is harmless.
   * @default false
   */
  readonly sendEventsOverSocket?: boolean;
  /**
   * The WebSocket URL.
   * @default the enrolled server URL with `ws(s):` and path `/v1/ws`
   */
  readonly url?: string;
}

/** The real-time section of `agent.status()`. */
export interface RealtimeStatus {
  readonly state: RealtimeState;
  /** When the state was entered (RFC 3339). */
  readonly since: string;
  /** Consecutive failed attempts since the last welcome. */
  readonly attempts: number;
  /** The close code of the last connection, `null` before any closed. */
  readonly lastCloseCode: number | null;
  /** Expiry of the session token held for a resume (RFC 3339), `null` without one. */
  readonly sessionExpiresAt: string | null;
}

/** Payload of the agent's `connection` event. */
export interface RealtimeConnectionChange {
  readonly state: RealtimeState;
  readonly previous: RealtimeState;
  /** Consecutive failed attempts since the last welcome. */
  readonly attempts: number;
  /** The close code that caused the change, when a connection closed. */
  readonly closeCode?: number;
  /** RFC 3339. */
  readonly at: string;
}

/** A command as handed to a handler registered with `agent.onCommand()`. */
export interface ReceivedCommand {
  readonly id: string;
  readonly type: string;
  /** The command's body, untrusted in shape: validate it. */
  readonly body: unknown;
  /** RFC 3339. */
  readonly issuedAt: string;
  /** RFC 3339. */
  readonly expiresAt: string;
  /** How this delivery arrived. */
  readonly via: 'socket' | 'http';
}

/**
 * Runs one command. Resolve to answer `acked`; throw (or reject) to answer `rejected` with the
 * error's message as the reason. Runs at most once per command id.
 */
export type CommandHandler = (command: ReceivedCommand) => void | Promise<void>;

/** The device's answer to a command. */
export interface CommandAnswer {
  readonly status: 'acked' | 'rejected';
  readonly reason?: string;
}

/** Payload of the agent's `command` event: a command was answered. */
export interface HandledCommand {
  readonly id: string;
  readonly type: string;
  readonly via: 'socket' | 'http';
  readonly answer: CommandAnswer;
  /** True when this delivery was a redelivery answered from memory, without running a handler. */
  readonly duplicate: boolean;
}

/** A message the server sent on a channel, as handed to a handler of `agent.channel()`. */
export interface ChannelMessage {
  /** The message id (the reply's `replyTo`). */
  readonly id: string;
  readonly channel: string;
  readonly type: string;
  /** The opened body, untrusted in shape: validate it. */
  readonly body: unknown;
}

/**
 * Handles messages of one channel. A returned value (other than `undefined`) is sent back as
 * `<type>.result`; a thrown error is answered with an `error` frame (`handler_failed`).
 */
export type ChannelHandler = (message: ChannelMessage) => unknown;

/** Options of `agent.request()`. */
export interface RequestOptions {
  /**
   * How long to wait for the reply.
   * @default the realtime option `requestTimeoutMs` (10_000)
   */
  readonly timeoutMs?: number;
}
