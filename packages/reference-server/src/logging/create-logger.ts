import pino from 'pino';
import { ServerStartError } from '../errors/server-start-error.js';

/**
 * The subset of a logger the server uses: pino's call shape (fields first,
 * then the message). A pino logger fits; so does a small adapter over another one.
 */
export interface ServerLogger {
  /** Details useful when debugging (probe requests, for instance). */
  debug(fields: object, message?: string): void;
  /** Normal operation: requests, start, stop. */
  info(fields: object, message?: string): void;
  /** Something went wrong but the server carries on (a forced shutdown, an aborted request). */
  warn(fields: object, message?: string): void;
  /** A failure an operator should look at (an unexpected error in a handler). */
  error(fields: object, message?: string): void;
}

/** Levels {@link createLogger} accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /**
   * The lowest level written; usually `process.env.LOG_LEVEL`.
   * @default 'info'
   */
  readonly level?: string;
  /**
   * Where JSON lines go: a file descriptor or a stream with `write`.
   * @default 2 (stderr, written synchronously so nothing is lost on exit)
   */
  readonly destination?: number | { write(line: string): void };
}

/**
 * Creates the server's structured logger: one JSON object per line (pino), on
 * stderr by default, so stdout stays free for what the CLI prints for people.
 * Fields that could hold secrets are redacted as a safety net; the server
 * itself never passes bodies or tokens to the logger.
 *
 * @param options - level and destination.
 * @returns a pino logger.
 * @throws {@link ServerStartError} `invalid_option` for an unknown level.
 * @example
 * ```ts
 * const logger = createLogger({ level: process.env.LOG_LEVEL });
 * logger.info({ port: 8080 }, 'listening');
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): pino.Logger {
  const level = (options.level ?? 'info').trim().toLowerCase() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ServerStartError(
      'invalid_option',
      `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${options.level}".`,
    );
  }
  const destination = options.destination ?? 2;
  return pino(
    {
      name: 'fieldline-server',
      level,
      redact: {
        paths: ['token', 'adminToken', 'authorization', '*.token', '*.authorization'],
        censor: '[redacted]',
      },
    },
    typeof destination === 'number'
      ? pino.destination({ dest: destination, sync: true })
      : destination,
  );
}
