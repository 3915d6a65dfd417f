import type { Agent, AgentStatus, Collector } from '@fieldline/agent-sdk';
import { type OpenCliAgentOptions, openCliAgent } from '../agent/open-cli-agent.js';
import { writeOneShotStatus } from '../agent/write-one-shot-status.js';
import type { CommandIo, CommandOutcome } from '../cli/command-io.js';
import { linuxCollectors } from '../collectors/index.js';
import { describeConsent } from '../format/describe-consent.js';
import { describeSpoolProblems } from '../format/describe-spool-problems.js';
import { describeError } from './describe-error.js';
import { drainSpool } from './flush-command.js';

/** Options of {@link runCommand}. */
export interface RunCommandOptions extends Omit<OpenCliAgentOptions, 'collectors'> {
  /**
   * One heartbeat and spool resend, then exit.
   * @default false
   */
  readonly once?: boolean;
  /** Aborting stops the agent gracefully (the CLI aborts on SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /**
   * The collectors to run while their scope is consented.
   * @default linuxCollectors()
   */
  readonly collectors?: readonly Collector[];
  /**
   * How often `status.json` is rewritten besides on every flush, consent and state change.
   * @default 5_000
   */
  readonly statusIntervalMs?: number;
  /**
   * How long shutdown may try to deliver before spooling the rest.
   * @default 5_000
   */
  readonly shutdownTimeoutMs?: number;
}

/** What {@link runCommand} ended with. */
export interface RunOutcome extends CommandOutcome {
  /** The last status snapshot. */
  readonly status?: AgentStatus;
}

function stamp(): string {
  return new Date().toISOString();
}

/**
 * Logs what an operator wants to see, one line per event: consent changes,
 * flushes that moved or deferred something, drops, state changes, jobs, errors.
 */
function attachLog(agent: Agent, io: CommandIo): void {
  agent.on('consent', (consent, previous) => {
    io.err(`${stamp()} consent ${previous.status} -> ${describeConsent(consent)}`);
  });
  agent.on('flush', (result) => {
    if (result.delivered === 0 && result.rejected === 0 && result.deferred === 0) return;
    io.err(
      `${stamp()} flush: delivered ${result.delivered}, rejected ${result.rejected}, deferred ${result.deferred}` +
        (result.reason === undefined ? '' : ` (${result.reason})`),
    );
  });
  agent.on('dropped', (drop) => {
    // The spool's quarantine counts files: how many events they held cannot be trusted.
    const unit =
      drop.reason === 'spool_corrupt' || drop.reason === 'spool_unreadable'
        ? 'spool file(s)'
        : 'event(s)';
    io.err(
      `${stamp()} dropped ${drop.count} ${unit}: ${drop.reason}${drop.code === undefined ? '' : ` (${drop.code})`}`,
    );
  });
  agent.on('state', (state) => {
    io.err(`${stamp()} state: ${state.lifecycle}, ${state.connection}`);
  });
  agent.on('job', (job) => {
    io.err(`${stamp()} job ${job.job} ${job.status} (${job.durationMs} ms)`);
  });
  agent.on('connection', (change) => {
    io.err(
      `${stamp()} realtime: ${change.state}` +
        (change.closeCode === undefined ? '' : ` (closed ${change.closeCode})`) +
        (change.attempts > 0 ? `, ${change.attempts} failed attempt(s)` : ''),
    );
  });
  agent.on('command', (command) => {
    io.err(
      `${stamp()} command ${command.type} ${command.id} via ${command.via}: ${command.answer.status}` +
        (command.answer.reason === undefined ? '' : ` (${command.answer.reason})`) +
        (command.duplicate ? ' (redelivery, answered from memory)' : ''),
    );
  });
  agent.on('error', (error) => {
    io.err(`${stamp()} error: ${error.message}`);
  });
}

// Every change `fieldline-agent status` (another process) should see promptly.
const STATUS_EVENTS = [
  'flush',
  'consent',
  'state',
  'dropped',
  'job',
  'connection',
  'command',
] as const;

/** Rewrites status.json (atomically, 0600) on agent events (coalesced) and on an interval. */
function keepStatusCurrent(agent: Agent, intervalMs: number): () => void {
  let pending = false;
  const write = () => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      agent.writeStatusFile().catch(() => undefined);
    });
  };
  for (const event of STATUS_EVENTS) agent.on(event, write);
  const timer = setInterval(write, intervalMs);
  return () => {
    clearInterval(timer);
    for (const event of STATUS_EVENTS) agent.off(event, write);
  };
}

async function shutdownWithin(agent: Agent, timeoutMs: number, once: boolean): Promise<void> {
  // shutdown() bounds its delivery by timeoutMs, then spools; the extra margin covers the disk.
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs + 5_000);
  });
  try {
    // `run --once` is a one-shot: its status is written at the end only if no live run owns it.
    const stopped = agent.shutdown({ timeoutMs, writeStatusFile: !once });
    await Promise.race([stopped.then(() => undefined), cap]);
  } finally {
    clearTimeout(timer);
  }
}

function waitForAbort(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal === undefined) return; // runs until the process is killed
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * `fieldline-agent run`: loads the agent with the Linux collectors, starts it
 * (config, heartbeat, spool resend, consented collectors, flush timer),
 * keeps `status.json` current, logs concise lines to stderr, and on abort
 * (SIGINT/SIGTERM in the CLI) shuts down within a bounded time, spooling
 * what it could not send. With `once`, it starts, drains the spool, writes
 * the status and shuts down.
 *
 * @param options - state directory, once, abort signal, collectors.
 * @param io - where to log.
 * @returns exit code 0; 1 when the agent cannot start, or (`once`) when the server was unreachable and everything was spooled.
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.once('SIGTERM', () => stop.abort());
 * await runCommand({ stateDir, signal: stop.signal }, io);
 * ```
 */
export async function runCommand(options: RunCommandOptions, io: CommandIo): Promise<RunOutcome> {
  const once = options.once === true;
  let agent: Agent;
  try {
    agent = await openCliAgent({
      ...options,
      collectors:
        options.collectors ??
        linuxCollectors({
          onError: (error) => io.err(`${stamp()} collector: ${describeError(error)}`),
        }),
      // A long-running agent can afford the SDK's patient retry policy; a one-shot run cannot.
      ...(once || options.retry !== undefined ? {} : { retry: {} }),
      // A one-shot run would only open a socket to close it again (and flap presence).
      ...(once
        ? {
            agentOptions: {
              ...options.agentOptions,
              realtime: { ...options.agentOptions?.realtime, enabled: false },
            },
          }
        : {}),
    });
  } catch (error) {
    io.err(`cannot open the state directory: ${describeError(error)}`);
    return { exitCode: 1 };
  }
  attachLog(agent, io);
  // Only a long-running `run` owns status.json; `run --once` writes it once, at the end, and
  // only when no live `run` on the same state directory owns it.
  const stopStatus = once
    ? () => undefined
    : keepStatusCurrent(agent, options.statusIntervalMs ?? 5_000);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5_000;
  try {
    try {
      await agent.start();
    } catch (error) {
      io.err(`cannot start: ${describeError(error)}`);
      await shutdownWithin(agent, shutdownTimeoutMs, once);
      return { exitCode: 1, status: agent.status() };
    }
    const started = agent.status();
    io.err(
      `${stamp()} running as device ${started.deviceId} against ${started.serverUrl}; consent ${describeConsent(started.consent)}`,
    );
    for (const line of describeSpoolProblems(started, options.stateDir))
      io.err(`${stamp()} ${line}`);
    const unsupported = Object.entries(started.collectors).filter(([, s]) => s === 'unsupported');
    if (unsupported.length > 0) {
      io.err(
        `${stamp()} not supported here: ${unsupported.map(([name]) => name).join(', ')} (they emit nothing)`,
      );
    }
    if (once) {
      const offline = agent.status().connection !== 'online';
      const drained = offline ? undefined : await drainSpool(agent);
      // Offline, a second retry budget at shutdown would only delay the same answer.
      await shutdownWithin(agent, offline ? 0 : shutdownTimeoutMs, once);
      const status = agent.status();
      const failed = offline || (drained?.deferred ?? 0) > 0 || status.connection !== 'online';
      io.err(
        failed
          ? `${stamp()} server unreachable (${status.lastError ?? 'no answer'}); ${status.spool.files} spool file(s) kept for the next run`
          : `${stamp()} done: spool ${status.spool.files} file(s)`,
      );
      return { exitCode: failed ? 1 : 0, status };
    }
    await waitForAbort(options.signal);
    io.err(`${stamp()} stopping`);
    await shutdownWithin(agent, shutdownTimeoutMs, once);
    const status = agent.status();
    io.err(`${stamp()} stopped; ${status.spool.files} spool file(s) kept`);
    return { exitCode: 0, status };
  } finally {
    stopStatus();
    if (once) await writeOneShotStatus(agent);
    else await agent.writeStatusFile().catch(() => undefined);
  }
}
