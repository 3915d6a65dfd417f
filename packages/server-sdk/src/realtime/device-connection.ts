import { REALTIME_CLOSE_CODES, type SessionSealer } from '@fieldline/core';
import type { WebSocket } from 'ws';
import type { SocketDevice } from './authenticate-socket.js';

/** A close code the server sent on a connection, and why. */
export interface SentClose {
  readonly code: number;
  readonly reason: string;
}

/** Where a connection stands in the §4.2 handshake. */
export type ConnectionPhase = 'awaiting_hello' | 'authenticating' | 'ready' | 'closed';

// A stuck client never reads our close frame; after this grace the socket is destroyed.
const CLOSE_GRACE_MS = 1_000;

/**
 * One device socket: its handshake phase, liveness, inbound rate budget and
 * outbound backpressure. Small on purpose: a gateway holds tens of thousands.
 */
export class DeviceConnection {
  phase: ConnectionPhase = 'awaiting_hello';
  device: SocketDevice | undefined;
  lastSignOfLifeMs: number;
  /** Whether the device showed life since presence was last written. */
  aliveSinceRefresh = true;
  /** Unacked command ids delivered on this socket, for redelivery checks. */
  readonly unackedCommands = new Set<string>();
  /** Serializes command deliveries so one device is never handed a command twice at once. */
  commandDelivery: Promise<void> = Promise.resolve();
  /** The connection's session (§4.2), set just before the welcome. */
  session: SessionSealer | undefined;
  /**
   * The close this side sent first, if it did: what metrics count, since a peer that never
   * answers the close frame is only seen to end with 1006.
   */
  sentClose: SentClose | undefined;
  // Boxes are numbered by their order on the wire, so they are sent in the order sealed, and
  // none before the welcome: the device drops frames that precede it, which would skip a number.
  private outbound: Promise<unknown>;
  private releaseOutbound: () => void = () => undefined;
  private tokens: number;
  private lastRefillMs: number;

  /**
   * @param id - the connection's id (in session notices).
   * @param challenge - the challenge sent on this connection; the hello or resume must sign it.
   * @param socket - the socket.
   * @param nowMs - when it opened.
   * @param limits - buffer and rate caps.
   */
  constructor(
    readonly id: string,
    readonly challenge: string,
    readonly socket: WebSocket,
    nowMs: number,
    private readonly limits: {
      readonly maxBufferedBytes: number;
      readonly messagesPerSecond: number;
      readonly messageBurst: number;
    },
  ) {
    this.lastSignOfLifeMs = nowMs;
    this.outbound = new Promise<void>((resolve) => {
      this.releaseOutbound = resolve;
    });
    this.tokens = limits.messageBurst;
    this.lastRefillMs = nowMs;
  }

  /** Whether the socket closed (or is closing); re-read after every await. */
  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Notes a sign of life (message, ping or pong). */
  touch(nowMs: number): void {
    this.lastSignOfLifeMs = nowMs;
    this.aliveSinceRefresh = true;
  }

  /**
   * Takes one message from the inbound budget.
   *
   * @returns false when the connection is over its rate.
   */
  takeMessageToken(nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.lastRefillMs) / 1000;
    this.lastRefillMs = nowMs;
    this.tokens = Math.min(
      this.limits.messageBurst,
      this.tokens + elapsed * this.limits.messagesPerSecond,
    );
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Sends one frame unless that would take the unsent data past the cap, in
   * which case the connection is closed with 4002 (slow consumer).
   *
   * @returns whether the frame was queued.
   */
  send(frame: object): boolean {
    if (this.phase === 'closed') return false;
    const text = JSON.stringify(frame);
    if (this.socket.bufferedAmount + text.length > this.limits.maxBufferedBytes) {
      this.close(REALTIME_CLOSE_CODES.slowConsumer, 'slow_consumer');
      return false;
    }
    this.socket.send(text);
    return true;
  }

  /**
   * Lets boxed frames go out: called once the welcome is on the wire, and when the connection
   * ends (so nothing waits on a welcome that will never come).
   */
  openOutbound(): void {
    this.releaseOutbound();
  }

  /**
   * Seals a body into the connection's session and sends the frame built around the box. Frames
   * leave in call order, which is the order the device opens them in.
   *
   * @param plaintext - the body's bytes.
   * @param aad - what the box is bound to (`commandBoxAad`, `messageBoxAad`).
   * @param toFrame - builds the frame from the box.
   * @returns whether the frame was queued (false once closed, or with no session yet).
   */
  sendBoxed(
    plaintext: Uint8Array,
    aad: Uint8Array,
    toFrame: (box: string) => object,
  ): Promise<boolean> {
    const session = this.session;
    if (session === undefined || this.phase === 'closed') return Promise.resolve(false);
    const box = session.seal(plaintext, aad);
    const sent = this.outbound.then(() => box).then((sealed) => this.send(toFrame(sealed)));
    this.outbound = sent.catch(() => undefined);
    return sent;
  }

  /**
   * Records a close that ws sent on its own (a protocol violation it detected).
   *
   * @param code - the close code ws sent.
   */
  noteSentClose(code: number): void {
    this.sentClose ??= { code, reason: '' };
  }

  /**
   * Closes with a code and reason; destroys the socket if the peer does not
   * complete the close in time.
   */
  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.sentClose ??= { code, reason };
    this.releaseOutbound();
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
      return;
    }
    setTimeout(() => {
      if (this.socket.readyState !== this.socket.CLOSED) this.socket.terminate();
    }, CLOSE_GRACE_MS).unref();
  }
}
