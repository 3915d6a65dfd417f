import { InvalidArgumentError } from '@fieldline/core';
import {
  type DatabaseDrivers,
  installedDrivers,
  loadDriver,
  type PgClientLike,
  type PgNotification,
} from '../db/database-drivers.js';
import { encodeBusPayload } from './bus-payload.js';
import { BUS_TOPICS, type BusListener, type BusTopic, type ClusterBus } from './cluster-bus.js';
import { createNotifyQueue } from './notify-queue.js';

// Notifications per statement: ~350 KB of payload at most, one round trip.
const NOTIFY_BATCH = 50;
// Bus messages are hints about state committed elsewhere, so a NOTIFY's own transaction need
// not wait for its commit record to reach disk (that wait made every publish cost a flush).
// Local to the statement's transaction: nothing else on the connection is affected.
const ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true)";

/** Options of {@link createPostgresBus}. */
export interface PostgresBusOptions {
  /** The PostgreSQL connection string, e.g. `postgres://user@host:5432/db`. */
  readonly connectionString: string;
  /**
   * Prepended to every topic to make the channel name, so that several
   * deployments (or test schemas) on one database do not hear each other.
   * Letters, digits and `_` only; the channel name must stay within 63 bytes.
   * @default ''
   */
  readonly channelPrefix?: string;
  /**
   * Receives what the bus cannot deliver or handle: a dropped listener
   * connection, a failed reconnect or publish, an unreadable notification, a
   * listener that threw. The bus keeps going after each.
   * @default ignore
   */
  readonly onError?: (error: unknown) => void;
  /**
   * `application_name` of the bus's connections (`-publish` is appended for the
   * publishing one), so they can be told apart in `pg_stat_activity`.
   * @default 'fieldline-bus'
   */
  readonly applicationName?: string;
  /**
   * First wait before reconnecting a dropped listener connection, in ms; it doubles per failed
   * attempt, with full jitter.
   * @default 100
   */
  readonly reconnectBaseMs?: number;
  /**
   * Longest wait between reconnect attempts, in ms.
   * @default 5000
   */
  readonly reconnectMaxMs?: number;
}

/** A {@link ClusterBus} over PostgreSQL `LISTEN`/`NOTIFY`. */
export interface PostgresBus extends ClusterBus {
  /**
   * Calls `listener` each time the listener connection is back after a drop (a database
   * restart, `pg_terminate_backend`), once every topic is listened to again: messages
   * published during the gap were missed, so the subscriber re-reads its state.
   *
   * @param listener - called after each gap; an exception goes to `onError`.
   * @returns a function that stops the calls.
   * @example
   * ```ts
   * bus.onReconnect(() => void rescanOpenCommands());
   * ```
   */
  onReconnect(listener: () => void): () => void;
  /**
   * Resolves once the listener connection is up and every topic subscribed so
   * far is being listened to: a message published after that reaches this
   * bus. Waits through reconnects; resolves at once after {@link close}.
   *
   * @returns when listening.
   * @example
   * ```ts
   * bus.subscribe(BUS_TOPICS.commands, onCommand);
   * await bus.ready();
   * ```
   */
  ready(): Promise<void>;
}

// A database that does not answer at all must not leave a connect pending forever: the
// listener would never retry, and publishes would queue behind it.
const CONNECT_TIMEOUT_MS = 10_000;

/** Longest channel name PostgreSQL keeps (NAMEDATALEN - 1). */
const MAX_CHANNEL_BYTES = 63;

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function checkOptions(options: PostgresBusOptions, prefix: string): void {
  if (typeof options.connectionString !== 'string' || options.connectionString === '') {
    throw new InvalidArgumentError('createPostgresBus needs a connectionString.');
  }
  if (!/^[A-Za-z0-9_]*$/.test(prefix)) {
    throw new InvalidArgumentError(
      `channelPrefix may hold letters, digits and "_" only; got "${prefix}".`,
      { channelPrefix: prefix },
    );
  }
  const longest = Math.max(...Object.values(BUS_TOPICS).map((topic) => topic.length));
  if (prefix.length + longest > MAX_CHANNEL_BYTES) {
    throw new InvalidArgumentError(
      `channelPrefix "${prefix}" makes channel names longer than PostgreSQL's ${MAX_CHANNEL_BYTES} bytes; ` +
        `use at most ${MAX_CHANNEL_BYTES - longest} characters.`,
      { channelPrefix: prefix },
    );
  }
  for (const [name, value] of [
    ['reconnectBaseMs', options.reconnectBaseMs],
    ['reconnectMaxMs', options.reconnectMaxMs],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new InvalidArgumentError(`${name} must be a positive number; got ${value}.`);
    }
  }
}

/**
 * A bus for several server instances sharing one PostgreSQL database: each
 * topic is a `LISTEN`/`NOTIFY` channel. One dedicated connection listens (not
 * taken from any pool, and re-established with jittered exponential backoff
 * when it drops, re-listening every topic); publishing goes through a second,
 * single connection, so one publisher's messages arrive in the order it sent
 * them. Messages published while a statement is in flight leave together in the
 * next one (up to 50), so a burst of publishes costs a few round trips. A process
 * hears its own messages, as with the memory bus. Messages sent while the listener
 * is reconnecting are missed (the bus is best effort: state that matters is in the
 * database first); once it listens again, `onReconnect` listeners are called so they
 * can re-read that state.
 *
 * `publish` rejects only for programmer errors (a payload that is not JSON or over 7 000 bytes:
 * {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError}); a database failure is
 * reported to `onError` and the promise still resolves.
 *
 * The bus needs the `pg` driver, an optional peer dependency (`npm install pg`);
 * it is loaded here, so a missing driver is reported at once rather than on
 * the first connection.
 *
 * @param options - connection string, channel prefix, error sink, backoff.
 * @returns the bus, connecting in the background; call `close()` to end its connections.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a missing
 *   connection string, a bad prefix or backoff (the promise rejects).
 * @throws {@link DatabaseDriverError} `driver_missing` when `pg` is not installed.
 * @example
 * ```ts
 * const bus = await createPostgresBus({ connectionString: process.env.DATABASE_URL, onError: log.warn });
 * const app = createFieldlineApp({ db, serverIdentity, adminCredentials, bus });
 * await bus.ready();
 * // on shutdown
 * await bus.close();
 * ```
 */
export function createPostgresBus(options: PostgresBusOptions): Promise<PostgresBus> {
  return createPostgresBusWith(options, installedDrivers);
}

/**
 * {@link createPostgresBus} with the driver loaders given, so tests can stand in a missing driver.
 * @internal
 */
export async function createPostgresBusWith(
  options: PostgresBusOptions,
  drivers: DatabaseDrivers,
): Promise<PostgresBus> {
  const prefix = options.channelPrefix ?? '';
  checkOptions(options, prefix);
  const pg = await loadDriver(drivers, 'pg', 'createPostgresBus');
  const report = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // An error sink that throws must not take the bus down with it.
    }
  };
  const applicationName = options.applicationName ?? 'fieldline-bus';
  const baseMs = options.reconnectBaseMs ?? 100;
  const maxMs = options.reconnectMaxMs ?? 5000;
  const topicsByChannel = new Map<string, BusTopic>(
    Object.values(BUS_TOPICS).map((topic) => [prefix + topic, topic]),
  );
  const listeners = new Map<BusTopic, Set<BusListener>>();
  const reconnectListeners = new Set<() => void>();
  // Set once the listener connection was up; a later successful connect closes a gap.
  let listenedBefore = false;
  const publisher = new pg.Pool({
    connectionString: options.connectionString,
    max: 1,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: `${applicationName}-publish`,
  });
  publisher.on('error', report);
  // A pooled client cut between statements emits `error` too; unheard, it would end the process.
  publisher.on('connect', (pooled) => pooled.on('error', report));
  // One statement, one transaction: a batch's notifications are delivered together, in order.
  const outbox = createNotifyQueue(async (batch) => {
    const calls = batch.map((_, index) => `pg_notify($${2 * index + 1}, $${2 * index + 2})`);
    const values = batch.flatMap((notification) => [notification.channel, notification.payload]);
    try {
      await publisher.query(`select ${ASYNC_COMMIT}, ${calls.join(', ')}`, values);
    } catch (error) {
      report(error);
    }
  }, NOTIFY_BATCH);

  let closed = false;
  // Encoded first, so an oversized or non-JSON payload rejects even after close().
  const enqueue = async (topic: BusTopic, payloads: readonly unknown[]): Promise<void> => {
    const texts = payloads.map((payload) => encodeBusPayload(topic, payload));
    if (closed) return;
    await outbox.add(texts.map((text) => ({ channel: prefix + topic, payload: text })));
  };
  let client: PgClientLike | undefined;
  let connecting: Promise<void> | undefined;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let waiters: Array<() => void> = [];

  const dispatch = (message: PgNotification): void => {
    const topic = topicsByChannel.get(message.channel);
    if (topic === undefined) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message.payload ?? '');
    } catch (error) {
      report(error);
      return;
    }
    for (const listener of [...(listeners.get(topic) ?? [])]) {
      try {
        listener(payload);
      } catch (error) {
        report(error);
      }
    }
  };

  // pg deprecates overlapping queries on one client, so LISTEN/UNLISTEN statements are chained.
  const statementChains = new WeakMap<PgClientLike, Promise<unknown>>();
  const runInOrder = (target: PgClientLike, statement: string): Promise<unknown> => {
    const next = (statementChains.get(target) ?? Promise.resolve()).then(() =>
      target.query(statement),
    );
    statementChains.set(
      target,
      next.catch(() => undefined),
    );
    return next;
  };

  const listen = (target: PgClientLike, topic: BusTopic, on: boolean): void => {
    const statement = `${on ? 'listen' : 'unlisten'} ${quoteIdentifier(prefix + topic)}`;
    // A failure here means the connection is going; the drop handler reconnects and re-listens.
    runInOrder(target, statement).catch(() => undefined);
  };

  const flushWaiters = (): void => {
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer !== undefined) return;
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 20));
    failures += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, Math.random() * ceiling);
    retryTimer.unref?.();
  };

  const dropped = (target: PgClientLike, error: unknown): void => {
    if (target !== client) return;
    client = undefined;
    target.removeAllListeners('notification');
    target.end().catch(() => undefined);
    if (closed) return;
    if (error !== undefined) report(error);
    scheduleReconnect();
  };

  const connect = (): Promise<void> => {
    connecting ??= (async () => {
      const next = new pg.Client({
        connectionString: options.connectionString,
        application_name: applicationName,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      });
      next.on('notification', dispatch);
      // Both fire when the server ends the session (e.g. pg_terminate_backend); `dropped` runs once.
      next.on('error', (error) => dropped(next, error));
      next.on('end', () => dropped(next, undefined));
      let adopted = false;
      try {
        await next.connect();
        if (closed) {
          await next.end();
          return;
        }
        client = next;
        adopted = true;
        for (const [topic, set] of listeners) if (set.size > 0) listen(next, topic, true);
        // Statements run in order, so this answer means every LISTEN above is in place.
        await runInOrder(next, 'select 1');
        if (client !== next) return;
        failures = 0;
        flushWaiters();
        if (listenedBefore) {
          for (const listener of [...reconnectListeners]) {
            try {
              listener();
            } catch (error) {
              report(error);
            }
          }
        }
        listenedBefore = true;
      } catch (error) {
        if (client === next) dropped(next, error);
        else if (!adopted) {
          // Never connected: nothing else will retry, so this attempt schedules the next.
          next.end().catch(() => undefined);
          if (!closed) {
            report(error);
            scheduleReconnect();
          }
        }
      }
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  void connect();

  return {
    publish: (topic, payload) => enqueue(topic, [payload]),
    publishMany: enqueue,
    subscribe(topic, listener) {
      let set = listeners.get(topic);
      if (set === undefined) {
        set = new Set();
        listeners.set(topic, set);
      }
      const first = set.size === 0;
      set.add(listener);
      if (first && client !== undefined) listen(client, topic, true);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        set.delete(listener);
        if (set.size === 0 && client !== undefined && !closed) listen(client, topic, false);
      };
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => {
        reconnectListeners.delete(listener);
      };
    },
    async ready() {
      for (;;) {
        if (closed) return;
        const current = client;
        if (current === undefined) {
          await new Promise<void>((resolve) => waiters.push(resolve));
          continue;
        }
        try {
          await runInOrder(current, 'select 1');
          return;
        } catch {
          // The connection dropped under us; wait for the next one.
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      listeners.clear();
      reconnectListeners.clear();
      flushWaiters();
      // What was published before close() still goes out.
      await outbox.drain();
      await connecting?.catch(() => undefined);
      const current = client;
      client = undefined;
      await Promise.all([current?.end().catch(report), publisher.end().catch(report)]);
    },
  };
}
