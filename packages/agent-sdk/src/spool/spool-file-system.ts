import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';

/** What the spool needs to know about a file: the subset of `fs.Stats` it reads. */
export interface SpoolFileStat {
  /** Size in bytes. */
  readonly size: number;
  /** Permission and type bits. */
  readonly mode: number;
  /** Whether it is a regular file (not a directory, FIFO, socket, device or link). */
  isFile(): boolean;
  /** Whether it is a directory. */
  isDirectory(): boolean;
}

/** One directory entry, as `readdir(dir, { withFileTypes: true })` gives it. */
export interface SpoolDirEntry {
  /** The entry's name inside the directory. */
  readonly name: string;
  /** Whether it is a regular file (a symlink, FIFO or directory is not). */
  isFile(): boolean;
  /** Whether it is a directory. */
  isDirectory(): boolean;
}

/** An open file: the subset of `fs.promises.FileHandle` the spool uses. */
export interface SpoolFileHandle {
  /** fstat: what the descriptor really is, whatever the name pointed to at open. */
  stat(): Promise<SpoolFileStat>;
  /** Reads into `buffer` from `position`. */
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  /** Writes all of `data` from the current position. */
  writeFile(data: Uint8Array): Promise<void>;
  /** fsync: the file's data and metadata reach the disk. */
  sync(): Promise<void>;
  /** Closes the descriptor. */
  close(): Promise<void>;
}

/**
 * The file-system operations the spool and its key file go through: the real `node:fs` by
 * default ({@link nodeSpoolFileSystem}), replaceable so a test can inject faults (EACCES for a
 * root test run, a simulated power cut that drops what was never fsynced).
 *
 * Every method rejects with the file system's own error (a `code` such as `ENOENT`); the spool
 * wraps them.
 */
export interface SpoolFileSystem {
  /** open(2) with numeric flags from `fs.constants`. */
  open(path: string, flags: number, mode?: number): Promise<SpoolFileHandle>;
  /** The entries of a directory with their types, without following symlinks. */
  readdir(path: string): Promise<SpoolDirEntry[]>;
  /** lstat(2): never follows a symlink. */
  lstat(path: string): Promise<SpoolFileStat>;
  /** Creates a directory and its parents; resolves to whether it created the last one. */
  mkdir(path: string, mode: number): Promise<boolean>;
  /** chmod(2). */
  chmod(path: string, mode: number): Promise<void>;
  /** rename(2): atomic replacement within one file system. */
  rename(from: string, to: string): Promise<void>;
  /** link(2): fails with EEXIST when `to` exists. */
  link(from: string, to: string): Promise<void>;
  /** unlink(2). */
  unlink(path: string): Promise<void>;
  /** Removes a file or a whole directory tree (without following symlinks). */
  remove(path: string): Promise<void>;
  /** rmdir(2): only an empty directory. */
  rmdir(path: string): Promise<void>;
}

/**
 * Flags for reading a file the spool did not necessarily make: read-only, never blocking
 * (a FIFO would otherwise hang the open until a writer appears) and never following a symlink
 * at the last component. Zero where the platform lacks a flag (Windows has neither).
 *
 * @internal
 */
export const READ_UNTRUSTED_FLAGS =
  constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * Flags for opening a directory to fsync it: read-only and refused unless it is a directory.
 * Symlinks are followed here on purpose: a state directory or spool that is a symlink to
 * another disk is a legitimate setup.
 *
 * @internal
 */
export const OPEN_DIRECTORY_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0);

/**
 * Flags for creating a temp file: write-only, created, and refused if the name exists (so an
 * existing file or symlink under that name is never written through).
 *
 * @internal
 */
export const CREATE_EXCLUSIVE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/**
 * The real file system, through `node:fs/promises`.
 *
 * @example
 * ```ts
 * const spool = createFileSpool({ directory, key, clock, fileSystem: nodeSpoolFileSystem });
 * ```
 */
export const nodeSpoolFileSystem: SpoolFileSystem = Object.freeze({
  open: (path: string, flags: number, mode?: number) => fsp.open(path, flags, mode),
  readdir: (path: string) => fsp.readdir(path, { withFileTypes: true }),
  lstat: (path: string) => fsp.lstat(path),
  mkdir: async (path: string, mode: number) =>
    (await fsp.mkdir(path, { recursive: true, mode })) !== undefined,
  chmod: (path: string, mode: number) => fsp.chmod(path, mode),
  rename: (from: string, to: string) => fsp.rename(from, to),
  link: (from: string, to: string) => fsp.link(from, to),
  unlink: (path: string) => fsp.unlink(path),
  remove: (path: string) => fsp.rm(path, { recursive: true, force: true }),
  rmdir: (path: string) => fsp.rmdir(path),
});
