import type { AgentStatus } from '@fieldline/agent-sdk';
import { consentByScope, describeConsent } from './describe-consent.js';

/** Where a status snapshot came from. */
export type StatusSource =
  | { readonly kind: 'status-file'; readonly path: string; readonly ageMs: number }
  | { readonly kind: 'state-dir' };

/** The consent scopes the reference agent's collectors need (always listed in the status view). */
export const COLLECTOR_SCOPES: readonly string[] = ['activity', 'network'];

// A running agent rewrites status.json every few seconds; older than this, it has probably stopped.
const STALE_AFTER_MS = 30_000;

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function formatAge(ms: number): string {
  if (ms < 1_000) return 'just now';
  if (ms < 120_000) return `${Math.round(ms / 1_000)} s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

/**
 * The status snapshot as text for people: enrollment, server, lifecycle,
 * connection, real-time connection, consent per scope, queue, spool, drops, last flush and error,
 * jobs and collectors.
 *
 * @param status - the snapshot.
 * @param source - where it came from (a stale `status.json` of a stopped agent is flagged).
 * @returns the lines to print.
 * @example
 * ```ts
 * for (const line of formatStatus(agent.status(), { kind: 'state-dir' })) io.out(line);
 * ```
 */
export function formatStatus(status: AgentStatus, source: StatusSource): string[] {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(13)}${value}`);
  if (source.kind === 'status-file') {
    const stale =
      (status.lifecycle === 'running' || status.lifecycle === 'stopping') &&
      source.ageMs > STALE_AFTER_MS
        ? ' (stale: the agent that wrote it seems to have stopped without a clean shutdown)'
        : '';
    row('source', `${source.path}, written ${formatAge(source.ageMs)}${stale}`);
  } else {
    row('source', 'the state directory (no status.json yet; no agent has run here)');
  }
  row('enrollment', status.deviceId === null ? 'not enrolled' : `device ${status.deviceId}`);
  row('server', status.serverUrl ?? '-');
  row('lifecycle', status.lifecycle);
  row('connection', status.connection);
  // status.json files written before the real-time connection existed have no section.
  const realtime = status.realtime as AgentStatus['realtime'] | undefined;
  if (realtime !== undefined) {
    const details = [
      realtime.attempts > 0 ? `${realtime.attempts} failed attempt(s)` : '',
      realtime.lastCloseCode === null ? '' : `last close ${realtime.lastCloseCode}`,
      realtime.sessionExpiresAt === null ? '' : `session until ${realtime.sessionExpiresAt}`,
    ].filter((part) => part !== '');
    row(
      'realtime',
      `${realtime.state} since ${realtime.since}${details.length === 0 ? '' : ` (${details.join(', ')})`}`,
    );
  }
  row('consent', describeConsent(status.consent));
  for (const [scope, state] of consentByScope(status.consent, COLLECTOR_SCOPES)) {
    lines.push(`  ${scope.padEnd(11)}${state}`);
  }
  row('queue', `${status.queue.events} events (${formatBytes(status.queue.bytes)})`);
  const quarantine = status.spool.quarantine;
  row(
    'spool',
    `${status.spool.files} files (${formatBytes(status.spool.bytes)})` +
      (quarantine === undefined || quarantine.files === 0
        ? ''
        : `; ${quarantine.files} set aside in quarantine/ (${formatBytes(quarantine.bytes)})`),
  );
  const mismatch = status.spool.keyMismatch;
  if (mismatch !== undefined) {
    row(
      'spool key',
      `${mismatch.files} files of another spool.key kept in ${mismatch.directory} (restore that key to send them)`,
    );
  }
  const drops = Object.entries(status.drops).filter(([, count]) => count > 0);
  row(
    'drops',
    drops.length === 0 ? 'none' : drops.map(([reason, count]) => `${reason} ${count}`).join(', '),
  );
  row('last flush', status.lastFlushAt ?? 'never');
  row('last error', status.lastError ?? 'none');
  const jobs = Object.entries(status.jobs);
  row('jobs', jobs.length === 0 ? 'none' : '');
  for (const [name, job] of jobs.sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${name}: ${job.status} at ${job.finishedAt} (${job.durationMs} ms)`);
  }
  const collectors = Object.entries(status.collectors);
  row(
    'collectors',
    collectors.length === 0
      ? 'none started (only `run` starts them, for consented scopes)'
      : collectors.map(([name, state]) => `${name} ${state}`).join(', '),
  );
  row('updated', status.updatedAt);
  return lines.map((line) => line.trimEnd());
}
