/**
 * Where a command writes. The CLI entry passes the process's streams; tests
 * pass collectors. Commands never touch `process.stdout` themselves.
 */
export interface CommandIo {
  /** One line of the command's result (stdout). */
  out(line: string): void;
  /** One line of progress, warning or error for people (stderr). */
  err(line: string): void;
}

/** What a command ended with. */
export interface CommandOutcome {
  /** The process exit code the CLI should use. */
  readonly exitCode: number;
}

/**
 * A {@link CommandIo} that keeps every line, for tests and embedding.
 *
 * @returns the io and the lines written to each side.
 * @example
 * ```ts
 * const io = bufferedIo();
 * await flushCommand({ stateDir }, io);
 * io.stdout; // ['delivered 3 …']
 * ```
 */
export function bufferedIo(): CommandIo & { readonly stdout: string[]; readonly stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
  };
}
