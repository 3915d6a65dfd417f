import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentStatus } from '../agent-types.js';
import { readStateFile } from './private-file.js';
import { jobStateSchema, statePaths } from './state-files.js';

/**
 * The last outcome of every job recorded in a state directory, as `AgentStatus.jobs` shows it.
 *
 * Each job's file in `jobs/` is written by whichever process ran it (a long-running agent or a
 * one-shot `job` command), so this, not a status snapshot, is where a job's last run is true.
 * Unreadable or foreign files are skipped.
 *
 * @param stateDir - the agent's state directory.
 * @returns the jobs by name; empty when none has run.
 * @example
 * ```ts
 * const jobs = await readJobStates('/var/lib/fieldline-agent');
 * console.log(jobs['nightly-tar']?.status);
 * ```
 */
export async function readJobStates(stateDir: string): Promise<AgentStatus['jobs']> {
  const dir = statePaths(stateDir).jobs;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return {};
  }
  const jobs: Record<string, AgentStatus['jobs'][string]> = {};
  for (const file of names.filter((name) => name.endsWith('.json'))) {
    const job = await readStateFile(join(dir, file), jobStateSchema).catch(() => undefined);
    if (job === undefined) continue;
    jobs[job.job] = { status: job.status, finishedAt: job.finishedAt, durationMs: job.durationMs };
  }
  return jobs;
}
