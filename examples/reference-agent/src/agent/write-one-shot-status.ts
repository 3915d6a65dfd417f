import type { Agent } from '@fieldline/agent-sdk';
import { readStatusFile } from '../commands/status-command.js';

/**
 * How fresh a `running` status.json must be to belong to a live `run` process. `run` rewrites it
 * every 5 s, so three missed rewrites mean that process is gone.
 */
export const LIVE_RUN_STATUS_MS = 15_000;

async function liveRunOwnsStatus(stateDir: string): Promise<boolean> {
  const found = await readStatusFile(stateDir);
  return (
    found?.status.lifecycle === 'running' &&
    found.source.kind === 'status-file' &&
    found.source.ageMs < LIVE_RUN_STATUS_MS
  );
}

/**
 * Writes a one-shot command's `status.json`, unless a live `fieldline-agent run` on the same
 * state directory owns that file: the long-running agent's view (lifecycle, real-time
 * connection, collectors) is the one `status` should show, and a one-shot process's snapshot
 * would replace it with "stopped" until the next rewrite. The one-shot's lasting effects are on
 * disk anyway (a job's outcome in jobs/, events in the spool or on the server).
 *
 * @param agent - the one-shot command's agent.
 * @param stateDir - its state directory.
 * @returns whether the file was written.
 * @example
 * ```ts
 * await writeOneShotStatus(agent, options.stateDir);
 * ```
 */
export async function writeOneShotStatus(agent: Agent, stateDir: string): Promise<boolean> {
  if (await liveRunOwnsStatus(stateDir)) return false;
  await agent.writeStatusFile().catch(() => undefined);
  return true;
}
