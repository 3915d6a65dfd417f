import { join } from 'node:path';
import type { CollectorSupport } from '@fieldline/agent-sdk';
import { systemClock } from '@fieldline/core';
import { createPollingCollector, type PollingCollector, type PollingOptions } from './poll-loop.js';
import { readTextOrUndefined } from './proc-fs.js';

/** Options of {@link createNetworkVolumeCollector}. */
export interface NetworkVolumeCollectorOptions extends PollingOptions {
  /**
   * Where the proc filesystem is mounted; the counters are read from
   * `<procRoot>/net/dev`.
   * @default '/proc'
   */
  readonly procRoot?: string;
  /**
   * Time between reads, in milliseconds; each event covers one interval.
   * @default 60000
   */
  readonly intervalMs?: number;
  /**
   * Interfaces never reported.
   * @default ['lo']
   */
  readonly excludeInterfaces?: readonly string[];
  /**
   * Also emit intervals in which an interface moved no bytes at all.
   * @default false
   */
  readonly emitZeroIntervals?: boolean;
  /**
   * At most this many interfaces are reported per interval (hosts with
   * hundreds of container veths would otherwise flood the queue).
   * @default 64
   */
  readonly maxInterfaces?: number;
}

/** One interface's cumulative byte counters from `/proc/net/dev`. */
export interface InterfaceCounters {
  /** The interface name, e.g. `eth0`. */
  readonly interface: string;
  /** Bytes received since the interface came up. */
  readonly bytesIn: bigint;
  /** Bytes sent since the interface came up. */
  readonly bytesOut: bigint;
}

/**
 * Parses the text of `/proc/net/dev` into per-interface byte counters. Only
 * the received and transmitted byte columns are kept. Counters are bigints
 * because the kernel's are 64-bit.
 *
 * @param text - the file's content.
 * @returns one entry per well-formed interface line, in file order.
 * @example
 * ```ts
 * parseNetDev(await readFile('/proc/net/dev', 'utf8'));
 * // [{ interface: 'eth0', bytesIn: 940219472n, bytesOut: 2626002n }, …]
 * ```
 */
export function parseNetDev(text: string): InterfaceCounters[] {
  const result: InterfaceCounters[] = [];
  for (const line of text.split('\n')) {
    // Interface names cannot contain ':', so the first one ends the name
    // (older kernels print no space between it and the first counter).
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === '' || name.length > 64 || name.includes('|')) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes …
    const rx = fields[0];
    const tx = fields[8];
    if (rx === undefined || tx === undefined || !/^\d+$/.test(rx) || !/^\d+$/.test(tx)) continue;
    result.push({ interface: name, bytesIn: BigInt(rx), bytesOut: BigInt(tx) });
  }
  return result;
}

interface Reading {
  readonly atMs: number;
  readonly bytesIn: bigint;
  readonly bytesOut: bigint;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Creates the `network-volume` collector (scope `network`): every interval it
 * reads `<procRoot>/net/dev` and emits, per interface (loopback excluded),
 * `activity.network.volume { interface, intervalMs, bytesIn, bytesOut }`
 * with the bytes moved since the previous read. Volume only: no addresses,
 * peers, ports, packets or content.
 *
 * The first read is a silent baseline, and so is the first read of an
 * interface that appears later. A counter that went backwards (interface
 * reset, driver reload, wrap) skips that interval for that interface rather
 * than guessing.
 *
 * @param options - proc root, interval, exclusions, clock and timer seams.
 * @returns the collector; `poll()` reads the counters now.
 * @throws {RangeError} when `intervalMs` or `maxInterfaces` is not positive.
 * @example
 * ```ts
 * const collector = createNetworkVolumeCollector({ intervalMs: 300_000 });
 * await collector.start(emit);
 * ```
 */
export function createNetworkVolumeCollector(
  options: NetworkVolumeCollectorOptions = {},
): PollingCollector {
  const procRoot = options.procRoot ?? '/proc';
  const clock = options.clock ?? systemClock;
  const exclude = new Set(options.excludeInterfaces ?? ['lo']);
  const emitZero = options.emitZeroIntervals ?? false;
  const maxInterfaces = options.maxInterfaces ?? 64;
  if (!Number.isInteger(maxInterfaces) || maxInterfaces <= 0) {
    throw new RangeError('network-volume: maxInterfaces must be a positive integer');
  }
  const devPath = join(procRoot, 'net', 'dev');
  const previous = new Map<string, Reading>();

  async function support(): Promise<CollectorSupport> {
    if (process.platform !== 'linux' && options.procRoot === undefined) {
      return {
        supported: false,
        reason: `the proc filesystem is Linux-only (this is ${process.platform})`,
      };
    }
    const text = await readTextOrUndefined(devPath);
    if (text === undefined) return { supported: false, reason: `${devPath} is not readable` };
    if (parseNetDev(text).length === 0) {
      return { supported: false, reason: `${devPath} lists no network interfaces` };
    }
    return { supported: true };
  }

  return createPollingCollector(
    'network-volume',
    'network',
    options.intervalMs ?? 60_000,
    {
      support,
      reset() {
        previous.clear();
      },
      async sample(emit) {
        const text = await readTextOrUndefined(devPath);
        if (text === undefined) return;
        const nowMs = clock.now();
        const counters = parseNetDev(text)
          .filter((entry) => !exclude.has(entry.interface))
          .slice(0, maxInterfaces);
        const seen = new Set<string>();
        for (const entry of counters) {
          seen.add(entry.interface);
          const before = previous.get(entry.interface);
          previous.set(entry.interface, {
            atMs: nowMs,
            bytesIn: entry.bytesIn,
            bytesOut: entry.bytesOut,
          });
          if (before === undefined) continue;
          const intervalMs = Math.round(nowMs - before.atMs);
          // A clock stepped back gives no meaningful interval.
          if (intervalMs <= 0) continue;
          const bytesIn = entry.bytesIn - before.bytesIn;
          const bytesOut = entry.bytesOut - before.bytesOut;
          if (bytesIn < 0n || bytesOut < 0n || bytesIn > MAX_SAFE || bytesOut > MAX_SAFE) continue;
          if (!emitZero && bytesIn === 0n && bytesOut === 0n) continue;
          emit(
            'activity.network.volume',
            {
              interface: entry.interface,
              intervalMs,
              bytesIn: Number(bytesIn),
              bytesOut: Number(bytesOut),
            },
            nowMs,
          );
        }
        // An interface that went away starts from a fresh baseline if it returns.
        for (const name of previous.keys()) if (!seen.has(name)) previous.delete(name);
      },
    },
    options,
  );
}
