import type { FlushResult } from '@fieldline/agent-sdk';
import { type OpenCliAgentOptions, openCliAgent } from '../agent/open-cli-agent.js';
import { writeOneShotStatus } from '../agent/write-one-shot-status.js';
import type { CommandIo, CommandOutcome } from '../cli/command-io.js';
import { describeSpoolProblems } from '../format/describe-spool-problems.js';
import { describeError } from './describe-error.js';

/** Options of {@link flushCommand}. */
export interface FlushCommandOptions extends OpenCliAgentOptions {
  /**
   * Most flush rounds (each resends up to the spool's per-run limit, 20 files by default).
   * @default 50
   */
  readonly maxRounds?: number;
}

/** What {@link flushCommand} did, summed over its rounds. */
export interface FlushOutcome extends CommandOutcome {
  readonly delivered: number;
  readonly rejected: number;
  readonly deferred: number;
  readonly resentFiles: number;
  /** Spool files left afterwards. */
  readonly spoolFiles: number;
  /** Why something stayed deferred. */
  readonly reason?: string;
}

/**
 * Drains an agent's spool and queue: flushes in rounds until the spool is
 * empty, a round is deferred (the server cannot be reached), or a round
 * makes no progress. Used by `fieldline-agent flush` and by the end of a
 * crash test.
 *
 * @param agent - a loaded agent.
 * @param maxRounds - most rounds.
 * @returns the summed counts.
 * @example
 * ```ts
 * const totals = await drainSpool(agent);
 * ```
 */
export async function drainSpool(
  agent: { flush(): Promise<FlushResult>; status(): { spool: { files: number } } },
  maxRounds = 50,
): Promise<FlushResult> {
  const totals = { delivered: 0, rejected: 0, deferred: 0, resentFiles: 0 };
  let reason: string | undefined;
  for (let round = 0; round < maxRounds; round++) {
    const result = await agent.flush();
    totals.delivered += result.delivered;
    totals.rejected += result.rejected;
    totals.resentFiles += result.resentFiles;
    // What the spool still holds after this round: the last round's figure is the answer.
    totals.deferred = result.deferred;
    // A reason means a delivery failed (server unreachable, refused credentials): stop there.
    if (result.reason !== undefined) {
      reason = result.reason;
      break;
    }
    if (agent.status().spool.files === 0 || result.resentFiles === 0) break;
  }
  return reason === undefined ? totals : { ...totals, reason };
}

/**
 * `fieldline-agent flush`: resends what the spool and the queue hold (oldest
 * first) and prints the counts.
 *
 * @param options - state directory.
 * @param io - where to print.
 * @returns exit code 0 when everything went, 1 when something stayed deferred, spool files of a
 *   lost or damaged `spool.key` were kept aside, or the device is not enrolled.
 * @example
 * ```ts
 * const { exitCode, spoolFiles } = await flushCommand({ stateDir }, io);
 * ```
 */
export async function flushCommand(
  options: FlushCommandOptions,
  io: CommandIo,
): Promise<FlushOutcome> {
  const empty = { delivered: 0, rejected: 0, deferred: 0, resentFiles: 0, spoolFiles: 0 };
  let agent: Awaited<ReturnType<typeof openCliAgent>>;
  try {
    agent = await openCliAgent(options);
  } catch (error) {
    io.err(`cannot open the state directory: ${describeError(error)}`);
    return { exitCode: 1, ...empty };
  }
  if (agent.status().deviceId === null || agent.status().lifecycle === 'unenrolled') {
    io.err('This device is not enrolled; run `fieldline-agent enroll` first.');
    return { exitCode: 1, ...empty, spoolFiles: agent.status().spool.files };
  }
  const totals = await drainSpool(agent, options.maxRounds ?? 50);
  await writeOneShotStatus(agent);
  const spool = agent.status().spool;
  for (const line of describeSpoolProblems(agent.status(), options.stateDir)) io.err(line);
  io.out(
    `delivered ${totals.delivered}, rejected ${totals.rejected}, deferred ${totals.deferred}; ` +
      `${totals.resentFiles} spool files resent, ${spool.files} left (${spool.bytes} bytes)`,
  );
  const deferred = totals.deferred > 0 || spool.files > 0;
  if (deferred) {
    io.err(
      `not everything went: ${totals.reason ?? 'spool not empty'}; it stays in the spool for the next flush`,
    );
  }
  // Files of a lost spool.key are kept aside, not delivered: that is not "everything went".
  const stranded = spool.keyMismatch !== undefined;
  return { exitCode: deferred || stranded ? 1 : 0, ...totals, spoolFiles: spool.files };
}
