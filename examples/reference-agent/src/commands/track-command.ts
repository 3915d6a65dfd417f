import type { FlushResult, TrackResult } from '@fieldline/agent-sdk';
import type { EventResult } from '@fieldline/core';
import { type OpenCliAgentOptions, openCliAgent } from '../agent/open-cli-agent.js';
import { writeOneShotStatus } from '../agent/write-one-shot-status.js';
import type { CommandIo, CommandOutcome } from '../cli/command-io.js';
import { describeSpoolProblems } from '../format/describe-spool-problems.js';
import { describeError } from './describe-error.js';

/** Options of {@link trackCommand}. */
export interface TrackCommandOptions extends OpenCliAgentOptions {
  /** A registered event type, e.g. `activity.app.launched`. */
  readonly type: string;
  /** The event's data as JSON text (an object). */
  readonly dataJson: string;
}

/** What {@link trackCommand} did. */
export interface TrackOutcome extends CommandOutcome {
  /** The agent's answer to `track()` (absent for malformed JSON or an unusable state dir). */
  readonly track?: TrackResult;
  /** The flush after it: `delivered` or `deferred` (spooled). */
  readonly flush?: FlushResult;
  /** `sent`, `spooled`, `refused`, or `error`. */
  readonly result: 'sent' | 'spooled' | 'refused' | 'error';
}

/**
 * `fieldline-agent track`: records one event and makes it durable before
 * returning. It first sends a heartbeat (which also resends the spool), so
 * the consent check uses what the server says now, not only what the state
 * directory last heard; offline, the last known consent applies. The event
 * is then validated and consent-checked by `agent.track`, and flushed: sent,
 * or left in the encrypted spool for the next `flush`/`run` when the server
 * cannot be reached.
 *
 * @param options - state directory, type, data.
 * @param io - where to print.
 * @returns exit code 0 (sent or spooled), 1 (refused, not enrolled), or 2 (malformed JSON).
 * @example
 * ```ts
 * await trackCommand({ stateDir, type: 'activity.app.launched', dataJson: '{"app":"calc"}' }, io);
 * ```
 */
export async function trackCommand(
  options: TrackCommandOptions,
  io: CommandIo,
): Promise<TrackOutcome> {
  let data: unknown;
  try {
    data = JSON.parse(options.dataJson);
  } catch (error) {
    io.err(`--data is not valid JSON: ${(error as Error).message}`);
    return { exitCode: 2, result: 'error' };
  }
  let agent: Awaited<ReturnType<typeof openCliAgent>>;
  try {
    agent = await openCliAgent(options);
  } catch (error) {
    io.err(`cannot open the state directory: ${describeError(error)}`);
    return { exitCode: 1, result: 'error' };
  }
  if (agent.status().deviceId === null) {
    io.err('This device is not enrolled; run `fieldline-agent enroll` first.');
    return { exitCode: 1, result: 'error' };
  }
  // The heartbeat's answer carries the device's current consent (a grant or a withdrawal).
  const heartbeat = await agent.heartbeat();
  // `deferred` also counts what waits in the spool past one run's limit; a reason means failure.
  const online = agent.status().connection === 'online' && heartbeat.reason === undefined;
  if (!online) io.err('server unreachable; using the consent this device last heard of');
  // The type name and data come from the command line: checked at run time, not by the compiler.
  const tracked = agent.trackUntyped(options.type, data);
  if (tracked.status === 'refused') {
    io.err(`refused (${tracked.reason}): ${tracked.message}`);
    await writeOneShotStatus(agent);
    return { exitCode: 1, track: tracked, result: 'refused' };
  }
  for (const line of describeSpoolProblems(agent.status(), options.stateDir)) io.err(line);
  let fate: EventResult | undefined;
  agent.on('results', (response) => {
    fate = response.results.find((result) => result.id === tracked.id) ?? fate;
  });
  // Offline, do not wait a second retry budget: write the event to the spool at once.
  const flush = online
    ? await agent.flush()
    : await agent.flush({ signal: AbortSignal.abort(new Error('server unreachable')) });
  const answered = fate as EventResult | undefined;
  if (answered?.status === 'rejected') {
    io.err(`the server rejected ${tracked.id} (${answered.code}): ${answered.message}`);
    return { exitCode: 1, track: tracked, flush, result: 'refused' };
  }
  if (answered !== undefined) {
    io.out(
      `sent ${options.type} ${tracked.id}${answered.status === 'duplicate' ? ' (already stored)' : ''}`,
    );
    return { exitCode: 0, track: tracked, flush, result: 'sent' };
  }
  io.out(
    `spooled ${options.type} ${tracked.id} (${flush.reason ?? 'server unreachable'}; \`fieldline-agent flush\` or \`run\` sends it)`,
  );
  return { exitCode: 0, track: tracked, flush, result: 'spooled' };
}
