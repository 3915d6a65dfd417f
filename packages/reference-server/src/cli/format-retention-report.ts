import type { RetentionReport } from '@fieldline/server-sdk';

/**
 * What `fieldline-server retention` prints about a run, for people.
 *
 * @param report - the run's report.
 * @returns a few lines, each ending in a newline.
 * @example
 * ```ts
 * process.stdout.write(formatRetentionReport(await enforceRetention(db)));
 * ```
 */
export function formatRetentionReport(report: RetentionReport): string {
  const byTenant = Object.entries(report.deletedRowsByTenant)
    .map(([tenant, rows]) => `${tenant} ${rows}`)
    .join(', ');
  const list = (names: readonly string[]) => (names.length === 0 ? 'none' : names.join(', '));
  return (
    `Retention enforced at ${report.ranAt} (longest retention ${report.longestRetentionDays} days).\n` +
    `  partitions created: ${list(report.createdPartitions)}` +
    (report.movedFromDefault > 0 ? ` (${report.movedFromDefault} rows moved from DEFAULT)` : '') +
    '\n' +
    `  partitions dropped: ${list(report.droppedPartitions)}\n` +
    `  rows deleted:       ${byTenant === '' ? 'none by tenant' : byTenant}; ${report.deletedFromDefault} from DEFAULT\n` +
    `  day partitions now: ${report.partitions}\n`
  );
}
