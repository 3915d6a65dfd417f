import {
  type Clock,
  type Command,
  type CommandAckRequest,
  InvalidArgumentError,
  systemClock,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { publishAdminEvents } from '../admin-stream/admin-event-hub.js';
import { appendAudit } from '../audit/append-audit.js';
import { BUS_TOPICS, type ClusterBus } from '../cluster/cluster-bus.js';
import { publishAll } from '../cluster/publish-all.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { ackCommand, ackCommands, type DeviceAck } from './ack-command.js';
import { commandAdminEvent } from './command-admin-event.js';
import { commandNotices } from './command-notice.js';
import { type CommandRecord, type TenantCommandRecord, toCommandRecord } from './command-record.js';
import { type CommandStatusChange, statusChange } from './command-status-change.js';
import { expireCommands } from './expire-commands.js';
import { insertCommands, type NewCommandRow, newCommandId } from './insert-commands.js';
import { returnUndelivered } from './return-undelivered.js';
import { runDeliveryRound } from './take-for-delivery.js';

/** Defaults of the commands an outbox creates and of its redelivery. */
export interface CommandOutboxDefaults {
  /**
   * How long a command may wait for delivery and ack before it expires, when
   * the request names no TTL.
   * @default 3600
   */
  readonly ttlSeconds?: number;
  /**
   * How many deliveries a command gets; the next one makes it `failed`.
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * How long a sent command waits for its ack before a `onlyDue` delivery
   * round hands it over again.
   * @default 30000
   */
  readonly ackTimeoutMs?: number;
}

/** Options of {@link createCommandOutbox}. */
export interface CommandOutboxOptions {
  /** The migrated database. */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * Time source for creation, TTLs, deliveries and acks.
   * @default systemClock
   */
  readonly clock?: Clock;
  /** Where new commands (`fieldline_commands`) and status changes (`fieldline_admin_events`) are announced. */
  readonly bus: ClusterBus;
  /** TTL, attempts and ack timeout. */
  readonly defaults?: CommandOutboxDefaults;
  /**
   * Receives failed bus publishes. The command is stored before anything is
   * published, so a lost message only delays delivery to the next round.
   * @default ignore
   */
  readonly onBusError?: (error: unknown) => void;
}

/** A command to create: its type, an optional JSON body and TTL. */
export interface NewCommand {
  /** The command type, e.g. `deploy` or a built-in such as `config.updated`. */
  readonly type: string;
  /** Any JSON value; handed to the device as it is. */
  readonly body?: unknown;
  /**
   * Seconds until the command expires.
   * @default the outbox's `defaults.ttlSeconds`
   */
  readonly ttlSeconds?: number;
}

/** A command for one named device. */
export interface DeviceCommand extends NewCommand {
  /** The device. */
  readonly deviceId: string;
}

/** What a bulk creation stored. */
export interface CreatedCommands {
  /** How many commands were created. */
  readonly count: number;
  /** Their ids, in the order of the devices. */
  readonly ids: string[];
  /** The device of each id, at the same index. */
  readonly deviceIds: string[];
}

/** Options of {@link CommandOutbox.takeForDelivery}. */
export interface TakeForDeliveryOptions {
  /**
   * Take only pending commands and sent ones whose ack timeout passed: the
   * periodic redelivery of a connected device. Otherwise every open command
   * is handed over (a reconnect, an HTTP poll, an HTTP response).
   * @default false
   */
  readonly onlyDue?: boolean;
}

/**
 * The durable per-device command outbox of docs/protocol.md §4.7: commands
 * are stored first, then announced on the bus; each delivery is counted; acks,
 * TTLs and the attempt limit settle them.
 */
export interface CommandOutbox {
  /** The ack timeout in effect, for callers that schedule `onlyDue` rounds. */
  readonly ackTimeoutMs: number;

  /**
   * Creates a command for one device, then announces it (`{ deviceId }` on
   * `fieldline_commands`) and publishes its admin event.
   *
   * @param deviceId - the device.
   * @param request - type, body and TTL.
   * @param actor - who asks (e.g. `admin`); when given, the audit row `command.created`
   *   is written in the insert's transaction.
   * @returns the stored command, `pending`.
   * @throws {@link HttpError} `not_found` for an unknown device, `conflict` for a revoked one.
   * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} (from core) for a
   *   TTL that is not a positive integer.
   * @example
   * ```ts
   * const record = await outbox.create(deviceId, { type: 'deploy', body: { version: '2.1.0' } }, 'admin');
   * ```
   */
  create(deviceId: string, request: NewCommand, actor?: string): Promise<CommandRecord>;

  /**
   * Creates one command per listed device, keeping only active devices of the
   * tenant (others are skipped, not refused), in one transaction of chunked
   * multi-row inserts; then announces them with `{ deviceIds }` notices of at
   * most 7 KB and publishes an admin event per command. Built-in commands
   * with a body per device (consent snapshots) use it.
   *
   * @param tenantId - the tenant every device must belong to.
   * @param commands - the device, type, body and TTL of each command.
   * @param actor - who asks; when given, one audit row `command.created_many` is written.
   * @returns the commands created.
   * @example
   * ```ts
   * await outbox.createMany('acme', devices.map((d) => ({ deviceId: d.id, type: 'consent.updated',
   *   body: { consent: d.consent } })));
   * ```
   */
  createMany(
    tenantId: string,
    commands: readonly DeviceCommand[],
    actor?: string,
  ): Promise<CreatedCommands>;

  /**
   * Creates the same command for every active (not revoked) device of a
   * tenant, like {@link CommandOutbox.createMany}. A tenant without devices
   * gets none.
   *
   * @param tenantId - the tenant.
   * @param request - type, body and TTL.
   * @param actor - who asks; when given, one audit row `command.broadcast` is written.
   * @returns the commands created.
   * @example
   * ```ts
   * const { count } = await outbox.broadcast('acme', { type: 'ping' }, 'admin');
   * ```
   */
  broadcast(tenantId: string, request: NewCommand, actor?: string): Promise<CreatedCommands>;

  /**
   * Reads a command. No tenant check: the caller compares `tenantId`.
   *
   * @param id - the command id.
   * @returns the record and its tenant, or undefined.
   * @example
   * ```ts
   * const found = await outbox.get(id);
   * if (found === undefined || found.tenantId !== admin.tenant) return notFound();
   * ```
   */
  get(id: string): Promise<TenantCommandRecord | undefined>;

  /**
   * Runs one delivery round for a device, in one transaction: its open
   * commands past their TTL become `expired`, those whose next delivery would
   * exceed `maxAttempts` become `failed`, and the rest (at most 100, oldest
   * first) are handed over, each counted as a delivery (`attempts + 1`,
   * `sent`). Rows are locked with `skip locked`, so concurrent rounds never
   * hand out one command twice uncounted. Status changes are published as
   * admin events after the commit.
   *
   * @param deviceId - the device.
   * @param options - whether to take only due commands.
   * @returns the commands to hand to the device now.
   * @example
   * ```ts
   * const commands = await outbox.takeForDelivery(device.id);
   * return json(200, { commands });
   * ```
   */
  takeForDelivery(deviceId: string, options?: TakeForDeliveryOptions): Promise<Command[]>;

  /**
   * {@link CommandOutbox.takeForDelivery} for many devices in one transaction:
   * what a gateway does when a broadcast reaches every device it holds.
   *
   * @param deviceIds - the devices (e.g. those of one bus notice connected here).
   * @param options - `onlyDue` as for `takeForDelivery`.
   * @returns the commands handed over, per device; devices with none are absent.
   * @example
   * ```ts
   * const byDevice = await outbox.takeForDeliveryMany(connectedIds);
   * ```
   */
  takeForDeliveryMany(
    deviceIds: readonly string[],
    options?: TakeForDeliveryOptions,
  ): Promise<Map<string, Command[]>>;

  /**
   * Takes back the delivery counted for commands a round handed over that never reached the
   * device (its socket closed before they were sent), so `attempts` counts real deliveries
   * only: one delivery less, and `pending` again when it was the only one.
   *
   * @param deviceId - the device of the round.
   * @param commandIds - the commands taken and not sent.
   * @example
   * ```ts
   * const commands = await outbox.takeForDelivery(deviceId);
   * const unsent = commands.filter((command) => !send(command)).map((command) => command.id);
   * await outbox.returnUndelivered(deviceId, unsent);
   * ```
   */
  returnUndelivered(deviceId: string, commandIds: readonly string[]): Promise<void>;

  /**
   * Sweeps every device: open commands past their TTL become `expired`, each
   * announced as an admin event. The gateway runs it periodically.
   *
   * @returns how many commands expired.
   * @example
   * ```ts
   * setInterval(() => void outbox.expireDue(), 60_000);
   * ```
   */
  expireDue(): Promise<number>;

  /**
   * Records many socket acks in one statement (see `ack`); acks of answered,
   * foreign or unknown commands change nothing.
   *
   * @param acks - device, command, answer.
   * @returns how many commands changed status.
   * @example
   * ```ts
   * await outbox.ackMany([{ deviceId, commandId, status: 'acked' }]);
   * ```
   */
  ackMany(acks: readonly DeviceAck[]): Promise<number>;

  /**
   * Records a device's ack: an open command becomes `acked` or `rejected`
   * (with `ackedAt` and the reason), and so does a `failed` or `expired` one that
   * was delivered at least once (the device's late answer says what it did); a
   * command already answered is left as it is and returned.
   *
   * @param deviceId - the device answering.
   * @param commandId - the command.
   * @param answer - `{ status: 'acked' | 'rejected', reason? }`.
   * @returns the record after the ack, or undefined when the device has no such command.
   * @example
   * ```ts
   * const record = await outbox.ack(device.id, id, { status: 'rejected', reason: 'unknown_command' });
   * ```
   */
  ack(
    deviceId: string,
    commandId: string,
    answer: CommandAckRequest,
  ): Promise<CommandRecord | undefined>;
}

const DELIVERY_LIMIT = 100;
// The device-id filter of createMany binds one parameter per id; stay far below 65 535.
const DEVICE_LOOKUP_CHUNK = 1000;

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}.`, {
      [name]: value,
    });
  }
  return value;
}

/**
 * Creates the durable command outbox over the `commands` table.
 *
 * @param options - database, clock, bus and defaults.
 * @returns the outbox.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} (from core) when a
 *   default is not a positive integer.
 * @example
 * ```ts
 * const outbox = createCommandOutbox({ db, bus: createMemoryBus() });
 * await outbox.create(deviceId, { type: 'ping' }, 'admin');
 * ```
 */
export function createCommandOutbox(options: CommandOutboxOptions): CommandOutbox {
  const { db, bus } = options;
  const clock = options.clock ?? systemClock;
  const defaultTtlSeconds = positiveInteger(
    options.defaults?.ttlSeconds ?? 3600,
    'defaults.ttlSeconds',
  );
  const maxAttempts = positiveInteger(options.defaults?.maxAttempts ?? 3, 'defaults.maxAttempts');
  const ackTimeoutMs = positiveInteger(
    options.defaults?.ackTimeoutMs ?? 30_000,
    'defaults.ackTimeoutMs',
  );
  const onBusError = options.onBusError ?? (() => {});

  function ttlMs(request: NewCommand): number {
    return positiveInteger(request.ttlSeconds ?? defaultTtlSeconds, 'ttlSeconds') * 1000;
  }

  function newRow(tenantId: string, deviceId: string, request: NewCommand, nowMs: number) {
    const row: NewCommandRow = {
      id: newCommandId(),
      tenantId,
      deviceId,
      type: request.type,
      ...(request.body === undefined ? {} : { body: request.body }),
      maxAttempts,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + ttlMs(request),
    };
    return row;
  }

  async function announce(rows: readonly NewCommandRow[], nowMs: number): Promise<void> {
    await publishAll(
      bus,
      BUS_TOPICS.commands,
      commandNotices(rows.map((row) => row.deviceId)),
      onBusError,
    );
    await publishChanges(
      rows.map((row) =>
        statusChange(
          { id: row.id, device_id: row.deviceId, tenant_id: row.tenantId, type: row.type },
          'pending',
        ),
      ),
      nowMs,
    );
  }

  function publishChanges(changes: readonly CommandStatusChange[], nowMs: number) {
    return publishAdminEvents(
      bus,
      changes.map((change) => commandAdminEvent(change, nowMs)),
      onBusError,
    );
  }
  const takeForDeliveryMany: CommandOutbox['takeForDeliveryMany'] = async (
    deviceIds,
    takeOptions = {},
  ) => {
    const nowMs = clock.now();
    const round = await runDeliveryRound(db, deviceIds, {
      nowMs,
      ackTimeoutMs,
      onlyDue: takeOptions.onlyDue ?? false,
      limit: DELIVERY_LIMIT,
    });
    // Not awaited: the device should not wait for the dashboards' news (it never throws).
    void publishChanges(round.changes, nowMs);
    return round.commands;
  };

  async function storeMany(
    tenantId: string,
    rows: NewCommandRow[],
    audit: { readonly actor: string; readonly action: string; readonly subject: string } | null,
    details: Record<string, unknown>,
  ): Promise<CreatedCommands> {
    if (rows.length > 0 || audit !== null) {
      await db.transaction().execute(async (trx) => {
        await insertCommands(trx, rows);
        if (audit !== null) {
          await appendAudit(
            trx,
            { tenantId, ...audit, details: { ...details, count: rows.length } },
            { clock },
          );
        }
      });
    }
    await announce(rows, clock.now());
    return {
      count: rows.length,
      ids: rows.map((row) => row.id),
      deviceIds: rows.map((row) => row.deviceId),
    };
  }

  return {
    ackTimeoutMs,

    async create(deviceId, request, actor) {
      const device = await db
        .selectFrom('devices')
        .select(['tenant_id', 'status'])
        .where('id', '=', deviceId)
        .executeTakeFirst();
      if (device === undefined) throw new HttpError('not_found', 'No such device.');
      if (device.status === 'revoked') {
        throw new HttpError('conflict', 'The device is revoked; it takes no more commands.', {
          details: { deviceId },
        });
      }
      const nowMs = clock.now();
      const row = newRow(device.tenant_id, deviceId, request, nowMs);
      await db.transaction().execute(async (trx) => {
        await insertCommands(trx, [row]);
        if (actor !== undefined) {
          await appendAudit(
            trx,
            {
              tenantId: row.tenantId,
              actor,
              action: 'command.created',
              subject: `device:${deviceId}`,
              details: { commandId: row.id, type: row.type, expiresAt: isoTime(row.expiresAtMs) },
            },
            { clock },
          );
        }
      });
      await announce([row], nowMs);
      return {
        id: row.id,
        deviceId,
        type: row.type,
        status: 'pending',
        attempts: 0,
        maxAttempts: row.maxAttempts,
        createdAt: isoTime(row.createdAtMs),
        expiresAt: isoTime(row.expiresAtMs),
        ackedAt: null,
        reason: null,
      };
    },

    async createMany(tenantId, commands, actor) {
      const nowMs = clock.now();
      // Built before any query, so a bad TTL throws before anything is read or written.
      const candidates = commands.map((command) =>
        newRow(tenantId, command.deviceId, command, nowMs),
      );
      const wanted = [...new Set(candidates.map((row) => row.deviceId))];
      const active = new Set<string>();
      for (let start = 0; start < wanted.length; start += DEVICE_LOOKUP_CHUNK) {
        const found = await db
          .selectFrom('devices')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('status', '=', 'active')
          .where('id', 'in', wanted.slice(start, start + DEVICE_LOOKUP_CHUNK))
          .execute();
        for (const { id } of found) active.add(id);
      }
      const rows = candidates.filter((row) => active.has(row.deviceId));
      const types = [...new Set(rows.map((row) => row.type))];
      return storeMany(
        tenantId,
        rows,
        actor === undefined
          ? null
          : { actor, action: 'command.created_many', subject: `tenant:${tenantId}` },
        { types },
      );
    },

    async broadcast(tenantId, request, actor) {
      const nowMs = clock.now();
      const expiresAt = isoTime(nowMs + ttlMs(request));
      const devices = await db
        .selectFrom('devices')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active')
        .orderBy('id')
        .execute();
      const rows = devices.map((device) => newRow(tenantId, device.id, request, nowMs));
      return storeMany(
        tenantId,
        rows,
        actor === undefined
          ? null
          : { actor, action: 'command.broadcast', subject: `tenant:${tenantId}` },
        { type: request.type, expiresAt },
      );
    },

    async get(id) {
      const row = await db
        .selectFrom('commands')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined
        ? undefined
        : { tenantId: row.tenant_id, record: toCommandRecord(row) };
    },

    async takeForDelivery(deviceId, takeOptions = {}) {
      return (await takeForDeliveryMany([deviceId], takeOptions)).get(deviceId) ?? [];
    },

    takeForDeliveryMany,

    async returnUndelivered(deviceId, commandIds) {
      const nowMs = clock.now();
      await publishChanges(await returnUndelivered(db, deviceId, commandIds), nowMs);
    },

    async expireDue() {
      const nowMs = clock.now();
      const changes = await expireCommands(db, nowMs);
      await publishChanges(changes, nowMs);
      return changes.length;
    },

    async ackMany(acks) {
      const nowMs = clock.now();
      const changes = await ackCommands(db, acks, nowMs);
      void publishChanges(changes, nowMs);
      return changes.length;
    },

    async ack(deviceId, commandId, answer) {
      const nowMs = clock.now();
      const outcome = await ackCommand(db, deviceId, commandId, answer, nowMs);
      if (outcome?.change !== undefined) await publishChanges([outcome.change], nowMs);
      return outcome?.record;
    },
  };
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
