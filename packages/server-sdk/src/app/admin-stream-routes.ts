import { InvalidArgumentError, ROUTES } from '@fieldline/core';
import type { AdminStreamEvent } from '../admin-stream/admin-event-hub.js';
import type { FieldlineStream, Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

/** Options of {@link adminStreamRoutes}. */
export interface AdminStreamOptions {
  /**
   * How often a `: keep-alive` comment is sent, in ms, so proxies and clients
   * see the stream is alive.
   * @default 15_000
   */
  readonly keepAliveIntervalMs?: number;
  /**
   * Bytes a client may leave unread before its stream is cut, so a slow or
   * stalled dashboard costs bounded memory.
   * @default 1_048_576 (1 MiB)
   */
  readonly maxBufferedBytes?: number;
}

function formatEvent(event: AdminStreamEvent): string {
  // JSON never holds a raw newline, so the data is always one `data:` line.
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new InvalidArgumentError(`${name} must be a positive number; got ${value}.`);
  }
  return value;
}

/**
 * `GET /v1/admin/stream` (docs/protocol.md §4.8): server-sent events of device
 * presence, consent and command changes from every instance, for dashboards.
 * An operator token sees every tenant; a tenant's token sees that tenant's
 * events only. The stream opens with a `: connected` comment, sends each event
 * as `event: <name>` and a JSON `data:` line, a `: keep-alive` comment every
 * `keepAliveIntervalMs`, and is cut when the client leaves more than
 * `maxBufferedBytes` unread.
 *
 * @param context - the shared context (its `adminEvents` hub feeds the streams).
 * @param options - keep-alive interval and buffer cap.
 * @returns the route.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when an option is not
 *   a positive number.
 * @example
 * ```ts
 * createFieldlineApp({ db, serverIdentity, adminCredentials, adminStream: { keepAliveIntervalMs: 30_000 } });
 * ```
 */
export function adminStreamRoutes(context: AppContext, options: AdminStreamOptions = {}): Route[] {
  const keepAliveMs = positive('keepAliveIntervalMs', options.keepAliveIntervalMs ?? 15_000);
  const maxBufferedBytes = positive('maxBufferedBytes', options.maxBufferedBytes ?? 1024 * 1024);
  return [
    {
      method: 'GET',
      path: ROUTES.adminStream,
      async handle(request) {
        const admin = context.authenticateAdmin(request);
        const body: FieldlineStream = {
          kind: 'stream',
          start(sink) {
            const send = (text: string): void => {
              sink.write(text);
              if (sink.bufferedBytes() > maxBufferedBytes) sink.abort();
            };
            send(': connected\n\n');
            const unsubscribe = context.adminEvents.subscribe(
              { tenant: admin.tenant },
              (event) => send(formatEvent(event)),
              () => sink.end(),
            );
            const timer = setInterval(() => send(': keep-alive\n\n'), keepAliveMs);
            timer.unref?.();
            return () => {
              clearInterval(timer);
              unsubscribe();
            };
          },
        };
        return {
          status: 200,
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            'x-accel-buffering': 'no',
          },
          body,
        };
      },
    },
  ];
}
