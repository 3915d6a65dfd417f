import { parseArgs } from 'node:util';
import { parseUserArgs, type UserCreateCommand } from './parse-user-args.js';

/** What the command line asked for. */
export type CliCommand =
  | {
      readonly kind: 'start';
      readonly port: number;
      readonly host: string;
      readonly dataDir: string;
      /** `--tls-cert`; the CLI falls back to `FIELDLINE_TLS_CERT`. */
      readonly tlsCertFile?: string;
      /** `--tls-key`; the CLI falls back to `FIELDLINE_TLS_KEY`. */
      readonly tlsKeyFile?: string;
      /** `--no-analytics`: do not run the analytics consumer in this process. */
      readonly noAnalytics?: true;
      /** `--stream`; the CLI falls back to `FIELDLINE_STREAM`, then `embedded`. */
      readonly stream?: string;
      /** False with `--no-relay` (absent otherwise): `fieldline-server worker relay` publishes instead. */
      readonly relay?: false;
    }
  | {
      readonly kind: 'worker';
      /** The workers to run (`relay`, …), at least one. */
      readonly names: readonly string[];
      readonly dataDir: string;
      /** `--stream`; the CLI falls back to `FIELDLINE_STREAM`, then `embedded`. */
      readonly stream?: string;
    }
  | { readonly kind: 'migrate'; readonly dataDir: string }
  | { readonly kind: 'retention'; readonly dataDir: string }
  | { readonly kind: 'rotate-keys'; readonly dataDir: string; readonly overlapDays: number }
  | UserCreateCommand
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string };

/** The CLI's help text. */
export const USAGE = `Usage: fieldline-server <command> [options]

Commands:
  start      run the server (migrates the database first)
  migrate    bring the database schema up to date, then exit
  retention  enforce raw-event retention once (the server also runs it hourly), then exit
  rotate-keys
             replace the server identity; the old key stays accepted for the overlap and
             agents follow the signed rotation (restart running servers afterwards)
  user create --email <e-mail> --role owner|tenant_admin|auditor [--tenant <t>] [--password-stdin]
             create a person's account for the console; the password is read from stdin with
             --password-stdin, else a generated one is printed once
  worker <name...>
             run workers apart from the HTTP server, until SIGTERM: relay (publishes the
             outbox to NATS), analytics (fills the activity aggregates; start servers with
             --no-analytics), webhooks (signed deliveries), tail (logs every stream record);
             run several processes of one worker to share its work

Options:
  --port <n>         port to listen on; 0 picks a free one      (start; default 8080)
  --host <address>   interface to listen on                      (start; default 127.0.0.1)
  --data-dir <dir>   identity, admin token and PGlite database   (default .fieldline)
  --tls-cert <file>  PEM certificate chain: serve HTTPS and WSS  (start; with --tls-key)
  --tls-key <file>   PEM private key of that certificate         (start; with --tls-cert)
  --no-analytics     do not run the analytics consumer in process (start; run it as a worker)
  --overlap-days <n> days the old key stays accepted             (rotate-keys; default 7)
  --stream <s>       event stream: embedded, or nats://host:port  (start, worker; default embedded)
  --no-relay         with NATS, do not run the outbox relay here (start; use "worker relay")
  --email, --role, --tenant, --password-stdin
                     the account "user create" makes (docs/accounts.md)
  -h, --help         show this help

Environment:
  DATABASE_URL            PostgreSQL connection string; unset: embedded PGlite in <data-dir>/db
  FIELDLINE_ADMIN_TOKEN   admin token; unset: generated once, kept in <data-dir>/admin-token
  FIELDLINE_TLS_CERT, FIELDLINE_TLS_KEY
                          the same as --tls-cert and --tls-key (the flags win); unset: plain HTTP
  FIELDLINE_STREAM        the same as --stream (the flag wins): "embedded" (the outbox table, nothing
                          else to run) or nats://host:port[,nats://…] (NATS JetStream, shared by
                          instances and workers); /readyz lists it and stays 200 while NATS is down
  FIELDLINE_BUS_PREFIX    prefix of the LISTEN/NOTIFY channels instances share (PostgreSQL only;
                          default: "<schema>_" when DATABASE_URL sets a search_path, else none)
  FIELDLINE_TRUSTED_PROXIES
                          comma-separated addresses of reverse proxies in front of the server:
                          their X-Forwarded-For names the client whose WebSocket handshakes are
                          capped (default none: the peer address is the client)
  FIELDLINE_ANALYTICS     off: the same as --no-analytics; unset or on: the analytics consumer runs
                          in the server process (docs/analytics.md)
  FIELDLINE_PGLITE_OPTIMIZE
                          1: let V8 optimize PGlite's WebAssembly (a few % faster, 50-100 MB more
                          memory); unset: V8's baseline compiler only, for a small footprint
  LOG_LEVEL               fatal|error|warn|info|debug|trace|silent (default info); JSON logs go to stderr
`;

/**
 * Parses `fieldline-server`'s arguments (everything after the script name).
 * Pure: no environment, no I/O.
 *
 * @param argv - e.g. `process.argv.slice(2)`.
 * @returns the command, `help`, or a usage error with a message.
 * @example
 * ```ts
 * parseCliArgs(['start', '--port', '0']); // { kind: 'start', port: 0, host: '127.0.0.1', dataDir: '.fieldline' }
 * ```
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return { kind: 'usage-error', message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [command, ...rest] = positionals;
  if (command === undefined) return { kind: 'usage-error', message: 'Missing command.' };
  const stream = values.stream;
  if (stream === '') return { kind: 'usage-error', message: '--stream must not be empty.' };
  if (stream !== undefined && command !== 'start' && command !== 'worker') {
    return { kind: 'usage-error', message: '--stream only applies to "start" and "worker".' };
  }
  if (values['no-relay'] === true && command !== 'start') {
    return { kind: 'usage-error', message: '--no-relay only applies to "start".' };
  }
  const userOnly = ['email', 'role', 'tenant', 'password-stdin'] as const;
  if (command !== 'user' && userOnly.some((name) => values[name] !== undefined)) {
    return {
      kind: 'usage-error',
      message: '--email, --role, --tenant and --password-stdin only apply to "user create".',
    };
  }
  if (command === 'user') {
    const startOnly = [
      'port',
      'host',
      'tls-cert',
      'tls-key',
      'overlap-days',
      'no-analytics',
    ] as const;
    const dataDir = values['data-dir'] ?? '.fieldline';
    if (dataDir === '' || startOnly.some((name) => values[name] !== undefined)) {
      return {
        kind: 'usage-error',
        message: '"user create" takes --email, --role, --tenant, --password-stdin and --data-dir.',
      };
    }
    return parseUserArgs(rest, values, dataDir);
  }
  if (command === 'worker') {
    const dataDir = values['data-dir'] ?? '.fieldline';
    if (rest.length === 0) {
      return { kind: 'usage-error', message: 'Name the workers to run, e.g. "worker relay".' };
    }
    const startOnly = ['port', 'host', 'tls-cert', 'tls-key', 'overlap-days'] as const;
    if (dataDir === '' || startOnly.some((name) => values[name] !== undefined)) {
      return {
        kind: 'usage-error',
        message: '"worker" takes only worker names, --stream and a non-empty --data-dir.',
      };
    }
    return { kind: 'worker', names: rest, dataDir, ...(stream === undefined ? {} : { stream }) };
  }
  if (rest.length > 0) {
    return { kind: 'usage-error', message: `Unexpected argument "${rest[0]}".` };
  }
  const dataDir = values['data-dir'] ?? '.fieldline';
  if (dataDir === '') return { kind: 'usage-error', message: '--data-dir must not be empty.' };
  if (command !== 'rotate-keys' && values['overlap-days'] !== undefined) {
    return { kind: 'usage-error', message: '--overlap-days only applies to "rotate-keys".' };
  }
  if (command === 'rotate-keys') {
    if (
      values.port !== undefined ||
      values.host !== undefined ||
      values['no-analytics'] !== undefined
    ) {
      return {
        kind: 'usage-error',
        message: '--port, --host and --no-analytics only apply to "start".',
      };
    }
    const text = values['overlap-days'] ?? '7';
    const overlapDays = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
    if (!(overlapDays >= 0 && overlapDays <= 3650)) {
      return {
        kind: 'usage-error',
        message: `--overlap-days must be a whole number of days from 0 to 3650; got "${text}".`,
      };
    }
    return { kind: 'rotate-keys', dataDir, overlapDays };
  }
  if (command === 'migrate' || command === 'retention') {
    if (
      values.port !== undefined ||
      values.host !== undefined ||
      values['tls-cert'] !== undefined ||
      values['tls-key'] !== undefined ||
      values['no-analytics'] !== undefined
    ) {
      return {
        kind: 'usage-error',
        message: '--port, --host, --tls-cert, --tls-key and --no-analytics only apply to "start".',
      };
    }
    return { kind: command, dataDir };
  }
  if (command !== 'start') return { kind: 'usage-error', message: `Unknown command "${command}".` };
  const portText = values.port ?? '8080';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) {
    return {
      kind: 'usage-error',
      message: `--port must be a number from 0 to 65535; got "${portText}".`,
    };
  }
  const host = values.host ?? '127.0.0.1';
  if (host === '') return { kind: 'usage-error', message: '--host must not be empty.' };
  const tlsCertFile = values['tls-cert'];
  const tlsKeyFile = values['tls-key'];
  if (tlsCertFile === '' || tlsKeyFile === '') {
    return { kind: 'usage-error', message: '--tls-cert and --tls-key must not be empty.' };
  }
  return {
    kind: 'start',
    port,
    host,
    dataDir,
    ...(tlsCertFile === undefined ? {} : { tlsCertFile }),
    ...(tlsKeyFile === undefined ? {} : { tlsKeyFile }),
    ...(values['no-analytics'] === true ? { noAnalytics: true as const } : {}),
    ...(stream === undefined ? {} : { stream }),
    ...(values['no-relay'] === true ? { relay: false as const } : {}),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'overlap-days': { type: 'string' },
      'no-analytics': { type: 'boolean' },
      stream: { type: 'string' },
      'no-relay': { type: 'boolean' },
      email: { type: 'string' },
      role: { type: 'string' },
      tenant: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
