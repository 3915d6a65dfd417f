import { execFile } from 'node:child_process';

/**
 * The outcome of running a helper program: its standard output, or why it
 * could not give one.
 *
 * @internal
 */
export type CommandResult =
  | { readonly ok: true; readonly stdout: string }
  | {
      readonly ok: false;
      readonly reason: 'not_found' | 'timeout' | 'failed';
      readonly message: string;
    };

/**
 * Options of {@link runCommand}.
 *
 * @internal
 */
export interface RunCommandOptions {
  /**
   * Kill the program after this long.
   * @default 2000
   */
  readonly timeoutMs?: number;
  /** Extra environment variables, layered over the agent's own. */
  readonly env?: Readonly<Record<string, string>>;
}

// Helpers print a few lines; anything larger is not what we asked for.
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * Runs a program directly (no shell, so no quoting issues) with a timeout and
 * a small output cap. Never throws.
 *
 * @param file - the program, looked up on `PATH` unless it has a slash.
 * @param args - its arguments.
 * @param options - timeout and environment.
 * @returns its stdout, or a failure with a reason.
 * @example
 * ```ts
 * const result = await runCommand('loginctl', ['list-sessions', '--no-legend']);
 * ```
 * @internal
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve) => {
    try {
      execFile(
        file,
        [...args],
        {
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          encoding: 'utf8',
          env: options.env === undefined ? process.env : { ...process.env, ...options.env },
          windowsHide: true,
        },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ ok: true, stdout });
            return;
          }
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'EACCES') {
            resolve({ ok: false, reason: 'not_found', message: `${file} is not installed` });
          } else if (error.killed === true && error.signal === 'SIGKILL') {
            resolve({
              ok: false,
              reason: 'timeout',
              message: `${file} did not answer within ${timeoutMs} ms`,
            });
          } else {
            const detail = stderr.trim().split('\n')[0] ?? '';
            resolve({
              ok: false,
              reason: 'failed',
              message: detail === '' ? `${file} failed: ${error.message}` : `${file}: ${detail}`,
            });
          }
        },
      );
    } catch (error) {
      resolve({ ok: false, reason: 'failed', message: `${file} failed: ${String(error)}` });
    }
  });
}
