import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type Command,
  commandBoxAad,
  createSessionSealer,
  InvalidArgumentError,
  REALTIME_CLOSE_CODES,
  type RealtimeFrame,
  ROUTES,
} from '@fieldline/core';
import { EventEmitter } from 'eventemitter3';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { FieldlineApp } from '../app/create-fieldline-app.js';
import { BUS_TOPICS } from '../cluster/cluster-bus.js';
import { parseCommandNotice } from '../commands/command-notice.js';
import { isDatabaseUnavailableError } from '../db/database-unavailable.js';
import { createAckBatcher } from './ack-batcher.js';
import { authenticateSocket } from './authenticate-socket.js';
import { type ChannelHandler, RESERVED_CHANNELS } from './channel-handlers.js';
import { parseDeviceClosureNotice } from './device-closure-notice.js';
import { DeviceConnection } from './device-connection.js';
import { type RealtimeGatewayOptions, resolveGatewayOptions } from './gateway-options.js';
import { createGatheredRounds } from './gathered-rounds.js';
import {
  createHandshakeAdmission,
  type HandshakeRefusal,
  type HandshakeSlot,
} from './handshake-admission.js';
import { createMessageExchange, isDeviceMessage } from './message-exchange.js';
import { parseDeviceFrame } from './parse-device-frame.js';
import { createPresenceStore, type DeviceSeen } from './presence-store.js';
import { remoteAddressSource } from './request-source.js';
import { parseSessionNotice } from './session-notice.js';
import { deleteExpiredSessions } from './session-store.js';
import { createStandingGuard } from './standing-guard.js';
import { wsErrorCloseCode } from './ws-error-close-code.js';

/** A device came online or went offline on this instance (§4.3). */
export interface PresenceChange {
  readonly deviceId: string;
  readonly tenantId: string;
  readonly online: boolean;
  /** RFC 3339. */
  readonly at: string;
}

/** Why a device connection ended. */
export interface ConnectionClosed {
  readonly deviceId: string | undefined;
  /**
   * The close code of the side that closed first: the one the server sent when it closed (even
   * if the peer never answered), else the one the peer sent (1006 when it sent none).
   */
  readonly code: number;
  readonly reason: string;
  /** Which side closed first. */
  readonly initiator: 'server' | 'client';
}

/** An upgrade refused before it became a socket (docs/protocol.md §4.1). */
export interface HandshakeRefused {
  /** `source_full` (429: the source's cap) or `server_full` (503: the instance's cap). */
  readonly reason: HandshakeRefusal;
  /** The source key the upgrade was counted under. */
  readonly source: string;
}

/** Events of {@link RealtimeGateway}. */
export interface RealtimeGatewayEvents {
  /** A device's presence changed on this instance. */
  presence: (change: PresenceChange) => void;
  /** A connection closed, authenticated or not. */
  closed: (closed: ConnectionClosed) => void;
  /** An upgrade was refused because too many handshakes were pending. */
  refused: (refused: HandshakeRefused) => void;
  /** An unexpected error (database down, a bug); the connection involved is closed. */
  error: (error: unknown) => void;
}

/** The WebSocket gateway of docs/protocol.md §4. */
export interface RealtimeGateway extends EventEmitter<RealtimeGatewayEvents> {
  /** This instance's id (in `devices.connected_instance`). */
  readonly instanceId: string;
  /** How many authenticated devices are connected here. */
  readonly connectedDevices: number;
  /**
   * Serves `GET /v1/ws` on a node:http server (other upgrade paths get 404).
   *
   * @param server - the HTTP server the API runs on.
   */
  attach(server: Server): void;
  /**
   * Takes over one upgrade request, for servers that route upgrades themselves.
   *
   * @param request - the upgrade request (its path must be `/v1/ws`).
   * @param socket - the raw socket.
   * @param head - the first bytes after the headers.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Registers the handler of a channel (replacing any earlier one).
   *
   * @param name - the channel name (`events` is the gateway's own).
   * @param handler - called for each message on the channel.
   * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a reserved or
   *   invalid name.
   */
  channel(name: string, handler: ChannelHandler): void;
  /** Whether the device has an authenticated connection on this instance. */
  isConnected(deviceId: string): boolean;
  /**
   * Closes the device's socket on this instance, if any, after an `error` frame with `reason`
   * as its code. Other instances close theirs on a `fieldline_closures` notice.
   *
   * @param deviceId - the device.
   * @param code - the close code (4403 revoked, 4423 quarantined, 4426 rotate keys…).
   * @param reason - the error code and close reason.
   * @returns whether a socket was closed.
   */
  closeDevice(deviceId: string, code: number, reason: string): boolean;
  /**
   * Sends a one-way message to a device connected here.
   *
   * @returns false when the device is not connected here.
   */
  send(deviceId: string, channel: string, type: string, body: unknown): Promise<boolean>;
  /**
   * Sends a request to a device connected here and waits for its reply.
   *
   * @param options - `timeoutMs` overrides the gateway's request timeout.
   * @returns the reply's body.
   * @throws {@link RealtimeRequestError} `not_connected`, `request_timeout`, `connection_closed`;
   *   {@link RealtimeRemoteError} when the device answered with an error frame.
   */
  request(
    deviceId: string,
    channel: string,
    type: string,
    body: unknown,
    options?: { readonly timeoutMs?: number },
  ): Promise<unknown>;
  /**
   * Closes every connection with 1001 (going away), marks their devices
   * offline and stops the timers. The HTTP server is the caller's to close.
   */
  close(): Promise<void>;
}

const CHANNEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const SEND_CHUNK = 64;
// Devices per statement when re-reading presence after a bus gap.
const RESCAN_CHUNK = 1000;
const utf8 = new TextEncoder();

/**
 * Creates the real-time gateway of an app: signed hello or resume, sessions,
 * one connection per device, heartbeats and presence, channel messages and
 * request/response, events over the socket through the app's ingestion
 * pipeline, and live delivery of durable commands.
 *
 * @param app - the app from `createFieldlineApp` (its database, identity, bus, pipeline, outbox).
 * @param options - limits and timings; see {@link RealtimeGatewayOptions}.
 * @returns the gateway; call `attach(server)`.
 * @example
 * ```ts
 * const app = createFieldlineApp({ db, serverIdentity, adminCredentials });
 * const server = http.createServer(toNodeListener(app));
 * const gateway = createRealtimeGateway(app);
 * gateway.attach(server);
 * gateway.on('presence', (change) => console.log(change.deviceId, change.online));
 * ```
 */
export function createRealtimeGateway(
  app: FieldlineApp,
  options: RealtimeGatewayOptions = {},
): RealtimeGateway {
  const { context } = app;
  const { db, clock, bus } = context;
  const settings = resolveGatewayOptions(options, `instance_${randomUUID()}`);
  const presence = createPresenceStore(db, settings.instanceId);
  const standing = createStandingGuard(context, options.standing);
  const channels = new Map<string, ChannelHandler>();
  const byDevice = new Map<string, DeviceConnection>();
  // Every open socket, authenticated or not, so shutdown reaches them all.
  const open = new Set<DeviceConnection>();
  // Sockets not yet welcomed: capped per source and in all, since each costs memory before
  // anyone is authenticated.
  const admission = createHandshakeAdmission({
    maxPending: settings.maxPendingHandshakes,
    maxPendingPerSource: settings.maxPendingHandshakesPerSource,
  });
  const slots = new WeakMap<DeviceConnection, HandshakeSlot>();
  const emitter = new EventEmitter<RealtimeGatewayEvents>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  let closing = false;

  const reportError = (error: unknown): void => {
    if (emitter.listenerCount('error') > 0) emitter.emit('error', error);
  };

  const exchange = createMessageExchange({
    app,
    channels,
    requestTimeoutMs: settings.requestTimeoutMs,
    onError: reportError,
  });

  const publishPresence = (deviceId: string, tenantId: string, online: boolean): void => {
    const change: PresenceChange = {
      deviceId,
      tenantId,
      online,
      at: new Date(clock.now()).toISOString(),
    };
    emitter.emit('presence', change);
    bus.publish(BUS_TOPICS.adminEvents, { event: 'presence', data: change }).catch(reportError);
  };

  const sendCommands = async (connection: DeviceConnection, commands: readonly Command[]) => {
    const device = connection.device;
    if (device === undefined) return;
    for (const [index, command] of commands.entries()) {
      const sent = await connection.sendBoxed(
        utf8.encode(JSON.stringify(command)),
        commandBoxAad(command.id),
        (box) => ({ kind: 'command', id: command.id, box }),
      );
      if (!sent) {
        // The socket closed under the round: what did not go out was not a delivery.
        const unsent = commands.slice(index).map((rest) => rest.id);
        await context.commands.returnUndelivered(device.id, unsent).catch(reportError);
        return;
      }
      connection.unackedCommands.add(command.id);
    }
  };

  const deliverCommands = (connection: DeviceConnection, onlyDue: boolean): Promise<void> => {
    connection.commandDelivery = connection.commandDelivery.then(async () => {
      const device = connection.device;
      if (device === undefined || connection.phase !== 'ready') return;
      let commands: Command[];
      try {
        commands = await context.commands.takeForDelivery(device.id, { onlyDue });
      } catch (error) {
        reportError(error);
        return;
      }
      await sendCommands(connection, commands);
    });
    return connection.commandDelivery;
  };

  // A broadcast announces thousands of devices at once: one delivery round for all of those
  // held here, then boxes a few dozen connections at a time, so acks and other sockets are
  // served between chunks.
  const deliverToMany = async (connections: readonly DeviceConnection[]): Promise<void> => {
    const ids = connections.flatMap((connection) =>
      connection.device === undefined ? [] : [connection.device.id],
    );
    // Due commands only: a sent one still inside its ack timeout is the device's to answer.
    const taken = await context.commands.takeForDeliveryMany(ids, { onlyDue: true });
    const deliveries = connections.flatMap((connection) => {
      const commands = taken.get(connection.device?.id ?? '');
      return commands === undefined ? [] : [{ connection, commands }];
    });
    for (let start = 0; start < deliveries.length; start += SEND_CHUNK) {
      await Promise.all(
        deliveries
          .slice(start, start + SEND_CHUNK)
          .map(({ connection, commands }) => sendCommands(connection, commands)),
      );
    }
  };

  const broadcastRounds = createGatheredRounds<DeviceConnection>(
    (connections) => deliverToMany(connections.filter((c) => c.phase === 'ready')),
    reportError,
  );

  const acks = createAckBatcher((batch) => context.commands.ackMany(batch), reportError);

  const fail = (connection: DeviceConnection, code: string, closeCode: number, message: string) => {
    connection.send({ kind: 'error', code, message });
    connection.close(closeCode, code);
  };

  async function onFirstFrame(connection: DeviceConnection, frame: RealtimeFrame): Promise<void> {
    if (frame.kind !== 'hello' && frame.kind !== 'resume') {
      fail(
        connection,
        'invalid_frame',
        REALTIME_CLOSE_CODES.invalidFrame,
        'The first frame must be a hello or a resume.',
      );
      return;
    }
    connection.phase = 'authenticating';
    // Its hello is in: from now on the slot is no longer one to hand to someone else.
    slots.get(connection)?.setEvictable(undefined);
    const authStartedMs = clock.now();
    const result = await authenticateSocket(frame, connection.challenge, {
      db,
      clock,
      replayGuard: context.replayGuard,
      maxSkewMs: settings.maxSkewMs,
      sessionTtlMs: settings.sessionTtlMs,
    });
    // The socket may have closed while the database answered.
    if (connection.isClosed) return;
    if (!result.ok) {
      fail(connection, result.failure.code, result.failure.closeCode, result.failure.message);
      return;
    }
    const device = result.device;
    // Made before the connection counts as ready, so nothing is sent to it without a session.
    const session = await createSessionSealer({
      server: context.serverIdentity,
      deviceId: device.id,
      nonce: frame.nonce,
      deviceEncryptionPublicKey: device.encryptionPublicKey,
    });
    if (connection.isClosed) return;
    // A revocation announced while authentication read the database.
    const refusedMeanwhile = standing.refusedSince(device.id, authStartedMs);
    if (refusedMeanwhile !== undefined) {
      fail(connection, refusedMeanwhile.code, refusedMeanwhile.closeCode, refusedMeanwhile.message);
      return;
    }
    standing.noteGood(device.id);
    connection.session = session.sealer;
    connection.device = device;
    connection.phase = 'ready';
    slots.get(connection)?.release();
    const previous = byDevice.get(device.id);
    byDevice.set(device.id, connection);
    if (previous !== undefined) displace(previous);
    await bus.publish(BUS_TOPICS.sessions, {
      deviceId: device.id,
      instanceId: settings.instanceId,
      connectionId: connection.id,
    });
    await presence.markConnected(device.id, new Date(clock.now()));
    // Closed while we wrote: onClose's markDisconnected may have run first, so undo ours.
    if (connection.isClosed) {
      if (!byDevice.has(device.id))
        await presence.markDisconnected(device.id, new Date(clock.now()));
      return;
    }
    connection.send({
      kind: 'welcome',
      sessionToken: device.sessionToken,
      expiresAt: device.sessionExpiresAt.toISOString(),
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
      session: session.offer,
    });
    connection.openOutbound();
    if (previous === undefined) publishPresence(device.id, device.tenantId, true);
    // A new session: whatever the old socket carried may be lost, so every open command goes.
    await deliverCommands(connection, false);
  }

  async function onReadyFrame(connection: DeviceConnection, frame: RealtimeFrame): Promise<void> {
    const device = connection.device;
    if (device === undefined) return;
    // Revocation bites on an open socket even if the bus notice is late or lost.
    const stores = frame.kind === 'ack' || (frame.kind === 'message' && frame.channel === 'events');
    const refusal = await standing.refusalFor(device.id, stores);
    if (connection.isClosed) return;
    if (refusal !== undefined) {
      fail(connection, refusal.code, refusal.closeCode, refusal.message);
      return;
    }
    switch (frame.kind) {
      case 'heartbeat':
        connection.send({ kind: 'heartbeat', ts: clock.now() });
        return;
      case 'message':
        if (!isDeviceMessage(frame)) {
          fail(
            connection,
            'invalid_frame',
            REALTIME_CLOSE_CODES.invalidFrame,
            "A device sends message bodies as sealed frames; boxes are the server's.",
          );
          return;
        }
        await exchange.receive(connection, device, frame);
        return;
      case 'ack': {
        connection.unackedCommands.delete(frame.id);
        acks.add({
          deviceId: device.id,
          commandId: frame.id,
          status: frame.status,
          ...(frame.reason === undefined ? {} : { reason: frame.reason }),
        });
        return;
      }
      case 'error':
        exchange.receiveError(frame);
        return;
      default:
        fail(
          connection,
          'invalid_frame',
          REALTIME_CLOSE_CODES.invalidFrame,
          `A ${frame.kind} frame is not allowed after the welcome.`,
        );
    }
  }

  function onMessage(connection: DeviceConnection, data: RawData, isBinary: boolean): void {
    const nowMs = clock.now();
    connection.touch(nowMs);
    if (connection.phase === 'closed') return;
    if (!connection.takeMessageToken(nowMs)) {
      connection.close(REALTIME_CLOSE_CODES.rateLimited, 'rate_limited');
      return;
    }
    const frame = parseDeviceFrame(data, isBinary);
    if (frame === undefined) {
      fail(
        connection,
        'invalid_frame',
        REALTIME_CLOSE_CODES.invalidFrame,
        'Send text frames holding one JSON object of docs/protocol.md §4 (no U+0000, no unpaired surrogates).',
      );
      return;
    }
    const handled =
      connection.phase === 'awaiting_hello'
        ? onFirstFrame(connection, frame)
        : connection.phase === 'ready'
          ? onReadyFrame(connection, frame)
          : Promise.resolve(
              fail(
                connection,
                'invalid_frame',
                REALTIME_CLOSE_CODES.invalidFrame,
                'Wait for the welcome before sending more frames.',
              ),
            );
    handled.catch((error: unknown) => {
      reportError(error);
      // The device backs off and reconnects either way; 1013 tells it (and the metrics) that
      // the database was away rather than that the server broke.
      if (isDatabaseUnavailableError(error)) {
        connection.close(REALTIME_CLOSE_CODES.tryAgainLater, 'unavailable');
      } else {
        connection.close(1011, 'internal_error');
      }
    });
  }

  function onClose(connection: DeviceConnection, code: number, reason: Buffer): void {
    connection.phase = 'closed';
    connection.openOutbound();
    open.delete(connection);
    slots.get(connection)?.release();
    exchange.connectionClosed(connection);
    const device = connection.device;
    const sent = connection.sentClose;
    emitter.emit(
      'closed',
      sent === undefined
        ? { deviceId: device?.id, code, reason: reason.toString(), initiator: 'client' }
        : { deviceId: device?.id, code: sent.code, reason: sent.reason, initiator: 'server' },
    );
    if (device === undefined || byDevice.get(device.id) !== connection) return;
    byDevice.delete(device.id);
    standing.forget(device.id);
    if (closing) return;
    // A close frame from the device is a sign of life; a timeout or a dropped line is not, and
    // last_seen must say when the device was last actually heard from.
    const heardAtClose = sent === undefined && code !== 1006;
    presence
      .markDisconnected(
        device.id,
        new Date(heardAtClose ? clock.now() : connection.lastSignOfLifeMs),
      )
      .then(() => publishPresence(device.id, device.tenantId, false))
      .catch(reportError);
  }

  function onConnection(socket: WebSocket, slot: HandshakeSlot): void {
    const challenge = randomBytes(32).toString('base64url');
    const connection = new DeviceConnection(randomUUID(), challenge, socket, clock.now(), settings);
    open.add(connection);
    slots.set(connection, slot);
    // Until its hello arrives, a fairer share may take this slot back.
    slot.setEvictable(() =>
      fail(
        connection,
        'try_again_later',
        REALTIME_CLOSE_CODES.tryAgainLater,
        'The server is full of pending handshakes and gave this one to a smaller source; reconnect after a backoff.',
      ),
    );
    // The hello or resume must sign this: a frame recorded on another connection cannot pass.
    connection.send({ kind: 'challenge', challenge });
    const helloTimer = setTimeout(() => {
      if (connection.phase === 'awaiting_hello') {
        fail(
          connection,
          'hello_timeout',
          REALTIME_CLOSE_CODES.helloTimeout,
          `No hello within ${settings.helloTimeoutMs} ms.`,
        );
      }
    }, settings.helloTimeoutMs);
    helloTimer.unref();
    socket.on('message', (data, isBinary) => onMessage(connection, data, isBinary));
    socket.on('pong', () => connection.touch(clock.now()));
    socket.on('ping', () => connection.touch(clock.now()));
    socket.on('close', (code, reason) => {
      clearTimeout(helloTimer);
      onClose(connection, code, reason);
    });
    // ws reports protocol violations (oversized, bad UTF-8) here and closes with 1009/1007/1002.
    socket.on('error', (error) => {
      const code = wsErrorCloseCode(error);
      if (code !== undefined) connection.noteSentClose(code);
    });
  }

  const heartbeat = setInterval(() => {
    const nowMs = clock.now();
    const alive: DeviceSeen[] = [];
    for (const [deviceId, connection] of byDevice) {
      if (nowMs - connection.lastSignOfLifeMs > settings.heartbeatTimeoutMs) {
        connection.close(REALTIME_CLOSE_CODES.heartbeatTimeout, 'heartbeat_timeout');
        continue;
      }
      if (connection.aliveSinceRefresh) {
        alive.push({ deviceId, at: new Date(connection.lastSignOfLifeMs) });
      }
      connection.aliveSinceRefresh = false;
      connection.socket.ping();
    }
    if (alive.length > 0) presence.refresh(alive).catch(reportError);
  }, settings.heartbeatIntervalMs);
  heartbeat.unref();

  let lastExpirySweepMs = clock.now();
  const redelivery = setInterval(() => {
    for (const connection of byDevice.values()) {
      if (connection.unackedCommands.size > 0) deliverCommands(connection, true).catch(reportError);
    }
    // Expiry is a state change the admin must see even for devices that never come back;
    // expired sessions can never be resumed, so their rows go at the same time.
    if (clock.now() - lastExpirySweepMs >= settings.expirySweepIntervalMs) {
      lastExpirySweepMs = clock.now();
      context.commands.expireDue().catch(reportError);
      deleteExpiredSessions(db, new Date(lastExpirySweepMs)).catch(reportError);
    }
  }, settings.redeliveryIntervalMs);
  redelivery.unref();

  const unsubscribeCommands = bus.subscribe(BUS_TOPICS.commands, (payload) => {
    const held = parseCommandNotice(payload).flatMap((deviceId) => {
      const connection = byDevice.get(deviceId);
      return connection === undefined || connection.phase !== 'ready' ? [] : [connection];
    });
    // A notice means "something new": only due commands go out, so commands still awaiting
    // their ack are not delivered (and counted) again because another one was created.
    if (held.length === 1 && held[0] !== undefined) {
      deliverCommands(held[0], true).catch(reportError);
    } else if (held.length > 1) {
      broadcastRounds.add(held);
    }
  });
  const unsubscribeSessions = bus.subscribe(BUS_TOPICS.sessions, (payload) => {
    const notice = parseSessionNotice(payload);
    if (notice === undefined) return;
    const connection = byDevice.get(notice.deviceId);
    if (connection !== undefined && connection.id !== notice.connectionId) displace(connection);
  });
  const unsubscribeClosures = bus.subscribe(BUS_TOPICS.closures, (payload) => {
    const notice = parseDeviceClosureNotice(payload);
    if (notice === undefined) return;
    standing.noteClosure(notice);
    const held = byDevice.get(notice.deviceId);
    if (held?.device?.signingPublicKey === notice.exceptSigningPublicKey) return;
    closeDevice(notice.deviceId, notice.closeCode, notice.reason);
  });

  function closeDevice(deviceId: string, code: number, reason: string): boolean {
    const connection = byDevice.get(deviceId);
    if (connection === undefined) return false;
    fail(connection, reason, code, `The server closed this device's connection: ${reason}.`);
    return true;
  }

  // A live connection displaced by a newer one of the same device: once is a reconnect, again
  // and again within the window is two holders of one key (§5.4).
  function displace(connection: DeviceConnection): void {
    const live = clock.now() - connection.lastSignOfLifeMs <= settings.heartbeatIntervalMs;
    connection.close(REALTIME_CLOSE_CODES.replaced, 'replaced');
    const device = connection.device;
    if (live && device !== undefined) {
      standing.recordTakeover(device.id, settings.instanceId).catch(reportError);
    }
  }

  // The bus was deaf for a while (its database connection dropped): command notices and
  // session takeovers sent meanwhile were missed, so read what they would have said. Due
  // commands of every device held here go out, and a device that authenticated on another
  // instance since then loses its connection here, as the missed notice would have done.
  const rescanAfterGap = async (): Promise<void> => {
    const held = [...byDevice.values()].filter((connection) => connection.phase === 'ready');
    if (held.length === 0) return;
    broadcastRounds.add(held);
    const ids = held.flatMap((connection) => (connection.device ? [connection.device.id] : []));
    for (let start = 0; start < ids.length; start += RESCAN_CHUNK) {
      const elsewhere = await db
        .selectFrom('devices')
        .select('id')
        .where('id', 'in', ids.slice(start, start + RESCAN_CHUNK))
        .where('connected_instance', 'is not', null)
        .where('connected_instance', '<>', settings.instanceId)
        .execute();
      for (const { id } of elsewhere) {
        byDevice.get(id)?.close(REALTIME_CLOSE_CODES.replaced, 'replaced');
      }
    }
  };
  const unsubscribeReconnect =
    bus.onReconnect?.(() => {
      rescanAfterGap().catch(reportError);
    }) ?? (() => undefined);

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path !== ROUTES.realtime || closing) {
      socket.end(`HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\n\r\n`);
      return;
    }
    let source: string;
    try {
      source = settings.sourceOf(request);
    } catch (error) {
      // An integrator's sourceOf that throws must not take the upgrade listener down with it.
      reportError(error);
      source = remoteAddressSource(request);
    }
    const slot = admission.admit(source);
    if (typeof slot === 'string') {
      socket.end(
        slot === 'source_full'
          ? 'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\n\r\n'
          : 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\r\n',
      );
      emitter.emit('refused', { reason: slot, source });
      return;
    }
    // ws drops an upgrade it cannot complete without calling back: the slot must not leak.
    socket.once('close', () => slot.release());
    wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, slot));
  }

  const gateway = Object.assign(emitter, {
    instanceId: settings.instanceId,
    attach(server: Server) {
      server.on('upgrade', handleUpgrade);
    },
    handleUpgrade,
    channel(name: string, handler: ChannelHandler) {
      if (!CHANNEL_NAME.test(name) || RESERVED_CHANNELS.has(name)) {
        throw new InvalidArgumentError(
          `"${name}" cannot be a channel name: use 1–64 of A-Z a-z 0-9 . _ - (and not "events").`,
        );
      }
      channels.set(name, handler);
    },
    isConnected(deviceId: string) {
      return byDevice.has(deviceId);
    },
    closeDevice,
    send(deviceId: string, channel: string, type: string, body: unknown) {
      return exchange.send(byDevice.get(deviceId), channel, type, body);
    },
    request(
      deviceId: string,
      channel: string,
      type: string,
      body: unknown,
      requestOptions: { readonly timeoutMs?: number } = {},
    ) {
      return exchange.request(byDevice.get(deviceId), channel, type, body, requestOptions);
    },
    async close() {
      closing = true;
      clearInterval(heartbeat);
      clearInterval(redelivery);
      unsubscribeCommands();
      unsubscribeSessions();
      unsubscribeReconnect();
      unsubscribeClosures();
      const held = [...byDevice.values()].flatMap((connection) =>
        connection.device === undefined ? [] : [connection.device],
      );
      byDevice.clear();
      for (const connection of open) {
        connection.close(REALTIME_CLOSE_CODES.goingAway, 'server_shutdown');
      }
      await acks.flush();
      await presence.releaseAll(new Date(clock.now())).catch(reportError);
      for (const device of held) publishPresence(device.id, device.tenantId, false);
      wss.close();
    },
  });
  // A getter: Object.assign would have copied one reading of it.
  Object.defineProperty(gateway, 'connectedDevices', { get: () => byDevice.size });
  return gateway as RealtimeGateway;
}
