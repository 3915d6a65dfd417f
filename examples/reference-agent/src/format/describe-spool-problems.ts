import type { AgentStatus } from '@fieldline/agent-sdk';

/**
 * Lines a person must see about the spool: files set aside in its quarantine (corrupt,
 * unreadable, or not regular files) and entries of another spool key moved aside. Empty when
 * there is nothing wrong.
 *
 * @param status - the agent's status snapshot (a `status.json` of an older agent may lack the
 *   spool's quarantine fields).
 * @param stateDir - the state directory, to say where to look.
 * @returns zero to two lines.
 * @example
 * ```ts
 * for (const line of describeSpoolProblems(agent.status(), stateDir)) io.err(line);
 * ```
 */
export function describeSpoolProblems(status: AgentStatus, stateDir: string): string[] {
  const lines: string[] = [];
  const corrupt = status.drops.spool_corrupt ?? 0;
  const unreadable = status.drops.spool_unreadable ?? 0;
  if (corrupt > 0 || unreadable > 0) {
    const parts = [
      corrupt > 0 ? `${corrupt} corrupt` : '',
      unreadable > 0 ? `${unreadable} unreadable or not a regular file` : '',
    ].filter((part) => part !== '');
    lines.push(
      `spool: set aside ${parts.join(', ')} spool file(s) in ${stateDir}/spool/quarantine ` +
        '(their events are not sent; counted as spool_corrupt/spool_unreadable drops)',
    );
  }
  const mismatch = status.spool.keyMismatch;
  if (mismatch !== undefined) {
    lines.push(
      `spool: ${mismatch.files} spool file(s) were written under another spool.key (lost or ` +
        `damaged); kept in ${mismatch.directory}: restore the old spool.key and restart to send them`,
    );
  }
  return lines;
}
