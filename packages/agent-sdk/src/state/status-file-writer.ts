import type { AgentStatus } from '../agent-types.js';
import { writePrivateFile } from './private-file.js';

/** Writes one process's `status.json`, newest snapshot last. */
export interface StatusFileWriter {
  /**
   * Writes a snapshot taken when this write's turn comes, after the writes already asked for.
   * A request made while one is waiting joins it, since both would write the same snapshot.
   *
   * @returns when the file holds a snapshot taken after this call.
   */
  write(): Promise<void>;
}

/**
 * Serializes the status writes of one agent. Each write is atomic (temp file and rename), but
 * two at once (a periodic rewrite, an event-driven one, the one `shutdown()` makes) could land
 * out of order: a "running" snapshot renamed after the "stopped" one would leave a stopped
 * agent looking alive, and one-shot commands would then defer to it.
 *
 * @param path - the status file.
 * @param snapshot - takes the snapshot to write (may read the state directory first).
 * @returns the writer.
 * @example
 * ```ts
 * const writer = createStatusFileWriter(paths.status, async () => agent.status());
 * await writer.write();
 * ```
 */
export function createStatusFileWriter(
  path: string,
  snapshot: () => Promise<AgentStatus>,
): StatusFileWriter {
  let last: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  return {
    write() {
      if (waiting !== undefined) return waiting;
      const next = last
        .catch(() => undefined)
        .then(async () => {
          // From here on a new request needs a newer snapshot than the one taken now.
          waiting = undefined;
          const status = await snapshot();
          await writePrivateFile(path, `${JSON.stringify(status, null, 2)}\n`);
        });
      waiting = next;
      last = next;
      return next;
    },
  };
}
