import type { ConsentSnapshot, DropCounts, EventsResponse, JobReport } from '@fieldline/core';
import type {
  HandledCommand,
  RealtimeConnectionChange,
  RealtimeStatus,
} from './realtime/realtime-types.js';
import type { SpoolKeyMismatch } from './spool/spool.js';

/** Where the agent stands. */
export type AgentLifecycle = 'unenrolled' | 'enrolled' | 'running' | 'stopping' | 'stopped';

/** Whether the server was reachable on the last attempt. */
export type ConnectionState = 'unknown' | 'online' | 'offline';

/** Why an event did not reach the server. */
export type DropReason = keyof Required<DropCounts>;

/** What `track()` did with an event. Never throws; nothing is silently lost. */
export type TrackResult =
  | { readonly status: 'queued'; readonly id: string }
  | {
      readonly status: 'refused';
      readonly reason: 'no_consent' | 'invalid' | 'unknown_type' | 'not_running';
      readonly message: string;
    };

/** What one flush did. */
export interface FlushResult {
  /** Events the server accepted or already had. */
  readonly delivered: number;
  /** Events the server refused (counted as `rejected_by_server`). */
  readonly rejected: number;
  /**
   * Events still in the spool when the flush finished (left for a retry, or past the run's
   * `maxFilesPerRun`): 0 only when the spool is empty.
   */
  readonly deferred: number;
  /** Spool files resent in this run. */
  readonly resentFiles: number;
  /** When not everything went, why. */
  readonly reason?: string;
}

/** Options of `agent.shutdown()`. */
export interface ShutdownOptions {
  /**
   * How long `shutdown()` tries to deliver what the agent holds and waits for the acks of
   * commands already being handled, side by side. What is still unsent then is written to the
   * spool; an ack still under way is abandoned (the server redelivers the command to the next
   * run, which answers it from its ledger without running it again). `shutdown()` resolves
   * after this plus the time the spool writes take.
   * @default 10_000
   */
  readonly timeoutMs?: number;
  /**
   * Write `status.json` once stopped. A one-shot process beside a long-running agent on the
   * same state directory turns this off, so its "stopped" snapshot does not replace the live
   * agent's.
   * @default true
   */
  readonly writeStatusFile?: boolean;
}

/** A job's outcome, as `runJob` reports it. */
export type JobRecord = JobReport & { readonly delivered: boolean };

/** The agent's status snapshot (`agent.status()`, and `status.json` for the CLI). */
export interface AgentStatus {
  readonly lifecycle: AgentLifecycle;
  readonly connection: ConnectionState;
  readonly deviceId: string | null;
  readonly serverUrl: string | null;
  readonly consent: ConsentSnapshot;
  readonly queue: { readonly events: number; readonly bytes: number };
  readonly spool: {
    readonly files: number;
    readonly bytes: number;
    /** What the spool set aside in `spool/quarantine/` (corrupt or unreadable entries). */
    readonly quarantine: { readonly files: number; readonly bytes: number };
    /** Present when entries of another spool key were moved aside at startup (not deleted). */
    readonly keyMismatch?: SpoolKeyMismatch;
  };
  readonly drops: Readonly<Record<DropReason, number>>;
  readonly lastFlushAt: string | null;
  readonly lastError: string | null;
  readonly jobs: Readonly<
    Record<
      string,
      { readonly status: string; readonly finishedAt: string; readonly durationMs: number }
    >
  >;
  readonly collectors: Readonly<Record<string, 'running' | 'stopped' | 'unsupported' | 'disabled'>>;
  /** The real-time connection: state, since when, failed attempts, last close code, session expiry. */
  readonly realtime: RealtimeStatus;
  readonly updatedAt: string;
}

/** The agent's typed events (eventemitter3). */
export interface AgentEvents {
  /** The lifecycle or connection state changed. */
  state: [status: { lifecycle: AgentLifecycle; connection: ConnectionState }];
  /** The server sent a different consent state. */
  consent: [consent: ConsentSnapshot, previous: ConsentSnapshot];
  /** A flush finished. */
  flush: [result: FlushResult];
  /** Events were dropped (counted by reason). */
  dropped: [drop: { reason: DropReason; count: number; code?: string }];
  /** Something failed that the host may want to log; the agent carries on. */
  error: [error: Error];
  /** A job finished. */
  job: [record: JobRecord];
  /** The server answered a batch (per-event results), for hosts that want details. */
  results: [response: EventsResponse];
  /** The real-time connection changed state (connecting, ready, retrying, offline…). */
  connection: [change: RealtimeConnectionChange];
  /** A command was answered (run, rejected, or a redelivery answered from memory). */
  command: [handled: HandledCommand];
}
