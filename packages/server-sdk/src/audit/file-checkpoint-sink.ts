import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { AuditCheckpoint } from './audit-checkpoint.js';
import type { AuditCheckpointSink } from './audit-checkpoint-sink.js';

/** Options of {@link createFileCheckpointSink}. */
export interface FileCheckpointSinkOptions {
  /** The JSON-lines file, e.g. `<data dir>/audit-checkpoints.jsonl`; created 0600 when missing. */
  readonly path: string;
}

// A checkpoint line is ~300 bytes: the tail read holds many, however long the file grows.
const TAIL_BYTES = 16 * 1024;

/**
 * Appends checkpoints to a JSON-lines file, one per line, each write flushed
 * with fsync before it resolves. The file is only ever opened for appending
 * (`O_APPEND`), never rewritten; reading the latest checkpoint reads the file's
 * tail only. A last line without its newline (a write torn by a crash) is
 * skipped. Non-blocking open flags: a FIFO or other non-regular file put in its
 * place is refused rather than waited on.
 *
 * Keep the file where the database's administrators cannot write, or ship it
 * off the host (it is plain text, one line per checkpoint); `chattr +a` makes
 * it append-only for root too on Linux.
 *
 * @param options - the file's path.
 * @returns the sink.
 * @example
 * ```ts
 * const sink = createFileCheckpointSink({ path: join(dataDir, 'audit-checkpoints.jsonl') });
 * ```
 */
export function createFileCheckpointSink(options: FileCheckpointSinkOptions): AuditCheckpointSink {
  const { path } = options;
  // One append at a time: lines never interleave, even from overlapping ticks.
  let queue: Promise<void> = Promise.resolve();

  async function appendLine(checkpoint: AuditCheckpoint): Promise<void> {
    const handle = await open(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK,
      0o600,
    );
    try {
      if (!(await handle.stat()).isFile()) {
        throw new Error(`${path} is not a regular file; audit checkpoints cannot be kept there.`);
      }
      await handle.write(`${JSON.stringify(checkpoint)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  return {
    append(checkpoint) {
      const done = queue.then(() => appendLine(checkpoint));
      queue = done.catch(() => undefined);
      return done;
    },
    async latest() {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) throw new Error(`${path} is not a regular file.`);
        const length = Math.min(stats.size, TAIL_BYTES);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, stats.size - length);
        const lines = buffer.toString('utf8').split('\n');
        // The piece after the last newline is empty, or a torn write: never a whole record.
        lines.pop();
        // Read from the middle of the file, the first piece may be the end of a longer line.
        if (length < stats.size) lines.shift();
        for (let index = lines.length - 1; index >= 0; index -= 1) {
          const line = (lines[index] as string).trim();
          if (line !== '') return JSON.parse(line) as unknown;
        }
        return undefined;
      } finally {
        await handle.close();
      }
    },
  };
}
