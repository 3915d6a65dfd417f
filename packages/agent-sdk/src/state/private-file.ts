import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { AgentError } from '../agent-errors.js';

/**
 * Writes a file atomically with mode 0600: a temp file in the same directory,
 * fsync, rename over the target, fsync the directory. A crash leaves either
 * the old file or the new one, never half of one.
 *
 * @param path - the target file.
 * @param data - its new content.
 */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temp = join(directory, `.tmp-${randomBytes(6).toString('hex')}`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  const dir = await open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Reads and validates a JSON state file.
 *
 * @param path - the file.
 * @param schema - its schema.
 * @param options - `private`: refuse a file readable by group or others.
 * @returns the parsed value, or undefined when the file does not exist.
 * @throws {@link AgentError} `state_corrupt` (unreadable JSON or wrong shape) or `state_permissions`.
 */
export async function readStateFile<S extends z.ZodType>(
  path: string,
  schema: S,
  options: { readonly private?: boolean } = {},
): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    if (options.private && process.platform !== 'win32') {
      const info = await stat(path);
      if ((info.mode & 0o077) !== 0) {
        throw new AgentError(
          'state_permissions',
          `${path} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 ${path}.`,
        );
      }
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AgentError(
      'state_corrupt',
      `${path} is not valid JSON; remove it or restore it from a backup.`,
      { cause },
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new AgentError(
      'state_corrupt',
      `${path} does not have the expected shape: ${parsed.error.issues[0]?.message}.`,
    );
  }
  return parsed.data;
}
