import type { Agent, CurrentStatusFile } from '@fieldline/agent-sdk';

/**
 * How fresh a `running` status.json must be to belong to a live `run` process. `run` rewrites it
 * every 5 s, so three missed rewrites mean that process is gone.
 */
export const LIVE_RUN_STATUS_MS = 15_000;

function liveRunOwns(current: CurrentStatusFile | undefined): boolean {
  return current?.lifecycle === 'running' && current.ageMs < LIVE_RUN_STATUS_MS;
}

/**
 * Writes a one-shot command's `status.json`, unless a live `fieldline-agent run` on the same
 * state directory owns that file: the long-running agent's view (lifecycle, real-time
 * connection, collectors) is the one `status` should show, and a one-shot process's snapshot
 * would replace it with "stopped" until the next rewrite. The one-shot's lasting effects are on
 * disk anyway (a job's outcome in jobs/, events in the spool or on the server). The check and
 * the write happen under the agent's status lock, which the live run's writes take too, so a
 * run that starts meanwhile is not overwritten.
 *
 * @param agent - the one-shot command's agent.
 * @returns whether the file was written.
 * @example
 * ```ts
 * await writeOneShotStatus(agent);
 * ```
 */
export async function writeOneShotStatus(agent: Agent): Promise<boolean> {
  return agent.writeStatusFile({ skipIf: liveRunOwns }).catch(() => false);
}
