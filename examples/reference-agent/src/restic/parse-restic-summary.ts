/**
 * Numeric fields of restic's `backup --json` summary message that become job
 * metrics (restic 0.14+; fields a version does not print are left out).
 */
export const RESTIC_SUMMARY_FIELDS: readonly string[] = [
  'files_new',
  'files_changed',
  'files_unmodified',
  'dirs_new',
  'dirs_changed',
  'dirs_unmodified',
  'data_blobs',
  'tree_blobs',
  'data_added',
  'data_added_packed',
  'total_files_processed',
  'total_bytes_processed',
  'total_duration',
];

/**
 * Whether a command is restic running `backup` with `--json`, the case whose
 * output {@link parseResticSummary} understands.
 *
 * @param command - the program (a name or a path).
 * @param args - its arguments.
 * @returns true for `restic … backup … --json`.
 * @example
 * ```ts
 * isResticJsonBackup('restic', ['backup', '--json', '/home']); // true
 * ```
 */
export function isResticJsonBackup(command: string, args: readonly string[]): boolean {
  const program = command.split(/[\\/]/).pop() ?? command;
  return /^restic(\.exe)?$/.test(program) && args.includes('backup') && args.includes('--json');
}

/**
 * Finds restic's final summary (`{"message_type":"summary", …}`) in the tail
 * of `restic backup --json` output and turns its numeric fields into job
 * metrics. Progress lines (`message_type: "status"`) and anything that is not
 * JSON are ignored.
 *
 * @param outputTail - the last part of the command's stdout (the summary is its last line).
 * @returns the metrics, or `undefined` when there is no summary (restic failed early).
 * @example
 * ```ts
 * parseResticSummary('{"message_type":"summary","files_new":2,"data_added":10}\n');
 * // { files_new: 2, data_added: 10 }
 * ```
 */
export function parseResticSummary(outputTail: string): Record<string, number> | undefined {
  const lines = outputTail.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? '';
    if (!line.startsWith('{') || !line.includes('"summary"')) continue;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof message !== 'object' || message === null) continue;
    const record = message as Record<string, unknown>;
    if (record.message_type !== 'summary') continue;
    const metrics: Record<string, number> = {};
    for (const field of RESTIC_SUMMARY_FIELDS) {
      const value = record[field];
      if (typeof value === 'number' && Number.isFinite(value)) metrics[field] = value;
    }
    return metrics;
  }
  return undefined;
}
