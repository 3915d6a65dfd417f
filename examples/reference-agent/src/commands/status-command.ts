import { readFile, stat } from 'node:fs/promises';
import { type AgentStatus, readJobStates, statePaths } from '@fieldline/agent-sdk';
import { type OpenCliAgentOptions, openCliAgent } from '../agent/open-cli-agent.js';
import type { CommandIo, CommandOutcome } from '../cli/command-io.js';
import { formatStatus, type StatusSource } from '../format/format-status.js';
import { describeError } from './describe-error.js';

/** Options of {@link statusCommand}. */
export interface StatusCommandOptions extends OpenCliAgentOptions {
  /**
   * Print the snapshot as JSON (exactly the `AgentStatus` shape of `status.json`).
   * @default false
   */
  readonly json?: boolean;
}

/** What {@link statusCommand} found. */
export interface StatusOutcome extends CommandOutcome {
  /** The snapshot, when there was one. */
  readonly status?: AgentStatus;
  /** Where it came from. */
  readonly source?: StatusSource;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function looksLikeStatus(value: unknown): value is AgentStatus {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.lifecycle === 'string' &&
    typeof record.consent === 'object' &&
    typeof record.spool === 'object' &&
    typeof record.updatedAt === 'string'
  );
}

/**
 * Reads the `status.json` an agent keeps in its state directory, if there is
 * a readable one.
 *
 * @param stateDir - the agent's state directory.
 * @param nowMs - the current time, for the file's age.
 * @returns the snapshot and its source, or `undefined`.
 * @example
 * ```ts
 * const found = await readStatusFile('/var/lib/fieldline');
 * ```
 */
export async function readStatusFile(
  stateDir: string,
  nowMs: number = Date.now(),
): Promise<{ status: AgentStatus; source: StatusSource } | undefined> {
  const path = statePaths(stateDir).status;
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const parsed: unknown = JSON.parse(text);
    if (!looksLikeStatus(parsed)) return undefined;
    return {
      status: parsed,
      source: { kind: 'status-file', path, ageMs: Math.max(0, nowMs - info.mtimeMs) },
    };
  } catch {
    return undefined;
  }
}

/**
 * `fieldline-agent status`: prints what the agent last recorded in
 * `status.json` (a running agent rewrites it every few seconds; one-shot
 * commands on every flush). Without one, it loads the state directory,
 * without starting anything, and prints the snapshot of what it holds.
 * Reading `status.json` never touches the running agent's files.
 *
 * @param options - state directory, JSON or text.
 * @param io - where to print.
 * @returns exit code 0, or 1 when the state directory cannot be read.
 * @example
 * ```ts
 * await statusCommand({ stateDir, json: true }, io);
 * ```
 */
export async function statusCommand(
  options: StatusCommandOptions,
  io: CommandIo,
): Promise<StatusOutcome> {
  let found = await readStatusFile(options.stateDir);
  if (found === undefined) {
    if (!(await isDirectory(options.stateDir))) {
      io.err(
        `${options.stateDir} is not a state directory yet; run \`fieldline-agent enroll\` first.`,
      );
      return { exitCode: 1 };
    }
    try {
      const agent = await openCliAgent(options);
      found = { status: agent.status(), source: { kind: 'state-dir' } };
    } catch (error) {
      io.err(`cannot read the state directory ${options.stateDir}: ${describeError(error)}`);
      return { exitCode: 1 };
    }
  }
  // Jobs run by one-shot `job` processes are recorded in jobs/, which is truer than a snapshot
  // a long-running agent wrote before they finished.
  const jobs = { ...found.status.jobs, ...(await readJobStates(options.stateDir)) };
  found = { ...found, status: { ...found.status, jobs } };
  if (options.json) io.out(JSON.stringify(found.status, null, 2));
  else for (const line of formatStatus(found.status, found.source)) io.out(line);
  return { exitCode: 0, ...found };
}
