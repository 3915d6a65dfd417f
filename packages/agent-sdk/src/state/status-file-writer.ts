import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { withFileLock } from './file-lock.js';
import { writePrivateFile } from './private-file.js';

/** What `status.json` holds at the moment a conditional write decides. */
export interface CurrentStatusFile {
  /** The lifecycle its snapshot shows (`running` while a long-running agent keeps it). */
  readonly lifecycle: string;
  /** Milliseconds since it was last written. */
  readonly ageMs: number;
}

/** Options of `agent.writeStatusFile()`. */
export interface StatusWriteOptions {
  /**
   * Decides, while holding the status lock, whether to leave the file as it is: a one-shot
   * process skips its write when a live long-running agent owns the file. Called with
   * undefined when there is no readable status file.
   */
  readonly skipIf?: (current: CurrentStatusFile | undefined) => boolean;
}

/** Writes one process's `status.json`, newest snapshot last. */
export interface StatusFileWriter {
  /**
   * Writes a snapshot taken when this write's turn comes, after the writes already asked for.
   * A plain request made while another plain one is waiting joins it: both would write the
   * same snapshot.
   *
   * @param options - an optional condition, checked under the lock.
   * @returns whether the file was written (false only when `skipIf` said so).
   */
  write(options?: StatusWriteOptions): Promise<boolean>;
}

// Only what a condition looks at; the rest of the file is not trusted or needed here.
const statusFileShape = z.looseObject({ lifecycle: z.string() });

async function readCurrent(path: string): Promise<CurrentStatusFile | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const parsed = statusFileShape.safeParse(JSON.parse(text));
    if (!parsed.success) return undefined;
    return { lifecycle: parsed.data.lifecycle, ageMs: Math.max(0, Date.now() - info.mtimeMs) };
  } catch {
    return undefined;
  }
}

/**
 * Serializes the status writes of one agent, and locks them against other processes on the
 * same state directory (`status.json.lock`). Each write is atomic (temp file and rename), but
 * two at once could land out of order: a "running" snapshot renamed after the "stopped" one
 * would leave a stopped agent looking alive; a one-shot command that found no live agent could
 * replace the snapshot of one that started a moment later. Under the lock, a conditional write
 * reads the file, decides and writes with no other writer in between.
 *
 * @typeParam S - the snapshot's type (`AgentStatus` for the agent).
 * @param path - the status file.
 * @param snapshot - takes the snapshot to write (may read the state directory first).
 * @returns the writer.
 * @example
 * ```ts
 * const writer = createStatusFileWriter(paths.status, async () => agent.status());
 * await writer.write({ skipIf: (current) => current?.lifecycle === 'running' });
 * ```
 */
export function createStatusFileWriter<S>(
  path: string,
  snapshot: () => Promise<S>,
): StatusFileWriter {
  let last: Promise<unknown> = Promise.resolve();
  let waiting: Promise<boolean> | undefined;
  const writeNow = async (options: StatusWriteOptions): Promise<boolean> =>
    withFileLock(`${path}.lock`, async () => {
      if (options.skipIf?.(await readCurrent(path)) === true) return false;
      const status = await snapshot();
      await writePrivateFile(path, `${JSON.stringify(status, null, 2)}\n`);
      return true;
    });
  return {
    write(options = {}) {
      const plain = options.skipIf === undefined;
      if (plain && waiting !== undefined) return waiting;
      const next = last
        .catch(() => undefined)
        .then(() => {
          // From here on a new request needs a newer snapshot than the one taken now.
          if (plain) waiting = undefined;
          return writeNow(options);
        });
      if (plain) waiting = next;
      last = next;
      return next;
    },
  };
}
