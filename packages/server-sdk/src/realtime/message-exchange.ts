import { randomUUID } from 'node:crypto';
import {
  type ChannelMessageFrame,
  type ErrorFrame,
  isFieldlineError,
  messageBoxAad,
  SealKind,
  toConsentSnapshot,
} from '@fieldline/core';
import type { FieldlineApp } from '../app/create-fieldline-app.js';
import { currentConsent } from '../consent/current-consent.js';
import { databaseUnavailable, isDatabaseUnavailableError } from '../db/database-unavailable.js';
import { isHttpError } from '../http/http-error.js';
import { runIngestion } from '../ingestion/pipeline.js';
import { openDeviceSealedBody } from '../sealing/open-device-frame.js';
import type { SocketDevice } from './authenticate-socket.js';
import type { ChannelHandler } from './channel-handlers.js';
import type { DeviceConnection } from './device-connection.js';
import { RealtimeRemoteError, RealtimeRequestError } from './realtime-errors.js';

const utf8 = new TextEncoder();

/** A message frame from a device: its body is always a sealed frame (§4.4). */
export type DeviceMessageFrame = ChannelMessageFrame & { readonly sealed: string };

/**
 * Whether a message frame carries its body the way a device must: `sealed`, not `box`.
 *
 * @param frame - a schema-valid message frame.
 * @returns true for a device's message.
 */
export function isDeviceMessage(frame: ChannelMessageFrame): frame is DeviceMessageFrame {
  return frame.sealed !== undefined;
}

interface PendingRequest {
  readonly connection: DeviceConnection;
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** What {@link createMessageExchange} needs. */
export interface MessageExchangeDeps {
  readonly app: FieldlineApp;
  readonly channels: ReadonlyMap<string, ChannelHandler>;
  readonly requestTimeoutMs: number;
  readonly onError: (error: unknown) => void;
}

/**
 * Channel messages both ways (docs/protocol.md §4.4): opens and routes what
 * devices send, runs `events` batches through the ingestion pipeline, seals
 * what the server sends, and pairs replies with pending requests.
 *
 * @param deps - the app, the channel handlers, the request timeout.
 * @returns the exchange the gateway drives.
 */
export function createMessageExchange(deps: MessageExchangeDeps) {
  const { context, ingestion } = deps.app;
  const pending = new Map<string, PendingRequest>();

  function sendMessage(
    connection: DeviceConnection,
    fields: { channel: string; type: string; body: unknown; replyTo?: string; id?: string },
  ): Promise<boolean> {
    const { body, ...routing } = fields;
    const frame = {
      kind: 'message' as const,
      ...routing,
      id: fields.id ?? randomUUID(),
      ts: context.clock.now(),
    };
    return connection.sendBoxed(
      utf8.encode(JSON.stringify(body ?? null)),
      messageBoxAad(frame),
      (box) => ({ ...frame, box }),
    );
  }

  function sendError(connection: DeviceConnection, error: unknown, replyTo: string): void {
    if (isHttpError(error) || isFieldlineError(error)) {
      connection.send({ kind: 'error', code: error.code, message: error.message, replyTo });
      return;
    }
    if (isDatabaseUnavailableError(error)) {
      // Nothing was stored: the device keeps the batch and sends it again later.
      const unavailable = databaseUnavailable(error);
      connection.send({
        kind: 'error',
        code: unavailable.code,
        message: unavailable.message,
        replyTo,
      });
      return;
    }
    deps.onError(error);
    connection.send({
      kind: 'error',
      code: 'internal_error',
      message: 'The server failed to handle this message.',
      replyTo,
    });
  }

  async function openBody(device: SocketDevice, frame: DeviceMessageFrame): Promise<unknown> {
    const opened = await openDeviceSealedBody(
      { sealed: frame.sealed },
      {
        serverIdentity: context.serverIdentity,
        previousServerIdentities: context.serverKeys.previousAt(context.clock.now()),
        replayGuard: context.replayGuard,
        device,
        kind: SealKind.ChannelMessage,
        kindName: 'channel message',
        clock: context.clock,
      },
    );
    return opened.payload;
  }

  async function ingestBatch(
    connection: DeviceConnection,
    device: SocketDevice,
    frame: DeviceMessageFrame,
  ): Promise<void> {
    const result = await runIngestion(ingestion, {
      device,
      rawBody: Buffer.from(`{"sealed":"${frame.sealed}"}`),
      receivedAt: new Date(context.clock.now()),
    });
    const consent = toConsentSnapshot(await currentConsent(context.db, device.id));
    await context.lastSeen.touch(device.id);
    // Commands reach a connected device as command frames, not in this reply.
    await sendMessage(connection, {
      channel: 'events',
      type: 'batch.result',
      body: { ...result, consent, commands: [] },
      replyTo: frame.id,
    });
  }

  return {
    /** Routes one message frame from an authenticated device. */
    async receive(
      connection: DeviceConnection,
      device: SocketDevice,
      frame: DeviceMessageFrame,
    ): Promise<void> {
      try {
        if (frame.replyTo !== undefined) {
          const request = pending.get(frame.replyTo);
          if (request === undefined || request.connection !== connection) return;
          const body = await openBody(device, frame);
          pending.delete(frame.replyTo);
          clearTimeout(request.timer);
          request.resolve(body);
          return;
        }
        if (frame.channel === 'events') {
          if (frame.type !== 'batch') {
            connection.send({
              kind: 'error',
              code: 'unknown_type',
              message: 'The events channel takes type "batch" only.',
              replyTo: frame.id,
            });
            return;
          }
          await ingestBatch(connection, device, frame);
          return;
        }
        const handler = deps.channels.get(frame.channel);
        if (handler === undefined) {
          connection.send({
            kind: 'error',
            code: 'unknown_channel',
            message: `No handler serves channel "${frame.channel}".`,
            replyTo: frame.id,
          });
          return;
        }
        const body = await openBody(device, frame);
        const reply = await handler({
          from: { deviceId: device.id, tenantId: device.tenantId },
          type: frame.type,
          body,
          id: frame.id,
        });
        if (reply !== undefined) {
          await sendMessage(connection, {
            channel: frame.channel,
            type: `${frame.type}.result`,
            body: reply,
            replyTo: frame.id,
          });
        }
      } catch (error) {
        sendError(connection, error, frame.id);
      }
    },

    /** An error frame from the device: fails the request it answers, if any. */
    receiveError(frame: ErrorFrame): void {
      if (frame.replyTo === undefined) return;
      const request = pending.get(frame.replyTo);
      if (request === undefined) return;
      pending.delete(frame.replyTo);
      clearTimeout(request.timer);
      request.reject(new RealtimeRemoteError(frame.code, frame.message));
    },

    async send(
      connection: DeviceConnection | undefined,
      channel: string,
      type: string,
      body: unknown,
    ): Promise<boolean> {
      const device = connection?.device;
      if (connection === undefined || device === undefined) return false;
      return sendMessage(connection, { channel, type, body });
    },

    request(
      connection: DeviceConnection | undefined,
      channel: string,
      type: string,
      body: unknown,
      options: { readonly timeoutMs?: number },
    ): Promise<unknown> {
      const device = connection?.device;
      if (connection === undefined || device === undefined) {
        return Promise.reject(
          new RealtimeRequestError(
            'not_connected',
            'The device is not connected to this instance.',
          ),
        );
      }
      const id = randomUUID();
      const timeoutMs = options.timeoutMs ?? deps.requestTimeoutMs;
      return new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(
            new RealtimeRequestError(
              'request_timeout',
              `The device did not answer within ${timeoutMs} ms.`,
            ),
          );
        }, timeoutMs);
        pending.set(id, { connection, resolve, reject, timer });
        sendMessage(connection, { channel, type, body, id })
          .then((sent) => {
            if (sent) return;
            pending.delete(id);
            clearTimeout(timer);
            reject(
              new RealtimeRequestError(
                'connection_closed',
                'The connection closed before sending.',
              ),
            );
          })
          .catch((error: unknown) => {
            pending.delete(id);
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      });
    },

    /** Fails every request still waiting on a closed connection. */
    connectionClosed(connection: DeviceConnection): void {
      for (const [id, request] of pending) {
        if (request.connection !== connection) continue;
        pending.delete(id);
        clearTimeout(request.timer);
        request.reject(
          new RealtimeRequestError('connection_closed', 'The connection closed before the reply.'),
        );
      }
    },
  };
}
