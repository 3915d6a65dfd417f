import { parseArgs } from 'node:util';
import { isSpkiPin } from '@fieldline/core';

/** What `fieldline-agent`'s command line asked for. */
export type AgentCliCommand =
  | {
      readonly kind: 'enroll';
      readonly stateDir: string;
      readonly serverUrl: string;
      readonly installToken: string;
      readonly hostname?: string;
      /** `--tls-pin`, repeatable: SPKI pins (`sha256/<base64>`) kept for every later run. */
      readonly tlsPins?: readonly string[];
      /** `--tls-ca`: a PEM file of CA certificates to trust for the server. */
      readonly tlsCaFile?: string;
    }
  | { readonly kind: 'run'; readonly stateDir: string; readonly once: boolean }
  | { readonly kind: 'status'; readonly stateDir: string; readonly json: boolean }
  | {
      readonly kind: 'track';
      readonly stateDir: string;
      readonly type: string;
      /** The `--data` text, still unparsed: malformed JSON is the command's usage error. */
      readonly dataJson: string;
    }
  | {
      readonly kind: 'job';
      readonly stateDir: string;
      readonly name: string;
      readonly command: string;
      readonly args: readonly string[];
    }
  | { readonly kind: 'flush'; readonly stateDir: string }
  | {
      readonly kind: 'consent';
      readonly stateDir: string;
      /** `--open`: also try to open the link in a browser (`xdg-open`). */
      readonly open: boolean;
      /** `--ttl-minutes`: how long the link opens, 1 to 60 minutes (default 10). */
      readonly ttlMinutes?: number;
    }
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string };

/** The CLI's help text. */
export const USAGE = `Usage: fieldline-agent <command> --state-dir <dir> [options]

Commands:
  enroll --server <url> --token <install token> [--hostname <name>]
         [--tls-pin <pin>]... [--tls-ca <file>]
             enroll this device; prints its device id and tenant. TLS pins and
             CA are kept in the state dir and apply to every later command
  run [--once]
             run the agent: config, heartbeat, consented collectors, flushing,
             status.json kept current; Ctrl+C (SIGINT) or SIGTERM stops it.
             --once: one heartbeat and spool resend, then exit (1 if offline)
  status [--json]
             what the agent last recorded (status.json), or what the state dir holds
  track <type> [--data <json>]
             validate, consent-check and send one event (spooled if offline)
  job <name> -- <command> [args...]
             run a command as a job and report its exit code, duration and output size
  flush
             resend what the spool and queue hold; exit 1 if anything stays deferred
  consent [--open] [--ttl-minutes <n>]
             print a short-lived link, signed by this device, to its consent page: the
             person using the device reads the policy, grants or withdraws, and gets
             receipts there. It opens once, for 10 minutes unless told otherwise

Options:
  --state-dir <dir>   the agent's identity, enrollment, consent, spool   (required)
  --server <url>      server base URL                                    (enroll)
  --token <token>     one-time install token from the server admin       (enroll)
  --hostname <name>   host name to report; default os.hostname()         (enroll)
  --tls-pin <pin>     SPKI pin sha256/<base64> of the server's key or CA;
                      repeat it: the current key and a backup key         (enroll)
  --tls-ca <file>     PEM CA certificate(s) to trust for the server       (enroll)
  --once              run one cycle, then exit                           (run)
  --json              print the status as JSON                           (status)
  --data <json>       the event's data, a JSON object; default {}        (track)
  --open              also open the link in a browser (xdg-open)        (consent)
  --ttl-minutes <n>   how long the link opens: 1 to 60; default 10       (consent)
  -h, --help          show this help

Exit codes: 0 ok; 1 failed, refused, or left deferred; 2 usage error;
job: the command's own exit code.
`;

const OPTION_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  server: ['enroll'],
  token: ['enroll'],
  hostname: ['enroll'],
  'tls-pin': ['enroll'],
  'tls-ca': ['enroll'],
  once: ['run'],
  json: ['status'],
  data: ['track'],
  open: ['consent'],
  'ttl-minutes': ['consent'],
};

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    tokens: true,
    options: {
      'state-dir': { type: 'string' },
      server: { type: 'string' },
      token: { type: 'string' },
      hostname: { type: 'string' },
      'tls-pin': { type: 'string', multiple: true },
      'tls-ca': { type: 'string' },
      once: { type: 'boolean' },
      json: { type: 'boolean' },
      data: { type: 'string' },
      open: { type: 'boolean' },
      'ttl-minutes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function usageError(message: string): AgentCliCommand {
  return { kind: 'usage-error', message };
}

function nonEmpty(value: string | undefined, flag: string): string | { error: string } {
  if (value === undefined) return { error: `${flag} is required.` };
  if (value.trim() === '') return { error: `${flag} must not be empty.` };
  return value;
}

/**
 * Parses `fieldline-agent`'s arguments (everything after the script name).
 * Pure: no environment, no I/O. Everything after a bare `--` belongs to the
 * `job` command's child command.
 *
 * @param argv - e.g. `process.argv.slice(2)`.
 * @returns the command, `help`, or a usage error with a message.
 * @example
 * ```ts
 * parseAgentArgs(['run', '--state-dir', '/var/lib/fieldline', '--once']);
 * // { kind: 'run', stateDir: '/var/lib/fieldline', once: true }
 * ```
 */
export function parseAgentArgs(argv: readonly string[]): AgentCliCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usageError((error as Error).message);
  }
  const { values, tokens } = parsed;
  if (values.help) return { kind: 'help' };
  const terminator = tokens.find((token) => token.kind === 'option-terminator');
  const before: string[] = [];
  const after: string[] = [];
  for (const token of tokens) {
    if (token.kind !== 'positional') continue;
    if (terminator !== undefined && token.index > terminator.index) after.push(token.value);
    else before.push(token.value);
  }
  const [command, ...rest] = before;
  if (command === undefined) return usageError('Missing command.');
  if (!['enroll', 'run', 'status', 'track', 'job', 'flush', 'consent'].includes(command)) {
    return usageError(`Unknown command "${command}".`);
  }
  for (const [option, commands] of Object.entries(OPTION_COMMANDS)) {
    if (values[option as keyof typeof values] !== undefined && !commands.includes(command)) {
      return usageError(`--${option} does not apply to "${command}".`);
    }
  }
  if (command !== 'job' && terminator !== undefined) {
    return usageError(`"--" and a command to run only apply to "job".`);
  }
  const stateDir = nonEmpty(values['state-dir'], '--state-dir');
  if (typeof stateDir !== 'string') return usageError(stateDir.error);

  const expectPositionals = (count: number, what: string): string | undefined => {
    if (rest.length < count) return `"${command}" needs ${what}.`;
    if (rest.length > count) return `Unexpected argument "${rest[count]}".`;
    return undefined;
  };

  switch (command) {
    case 'enroll': {
      const problem = expectPositionals(0, '');
      if (problem !== undefined) return usageError(problem);
      const serverUrl = nonEmpty(values.server, '--server');
      if (typeof serverUrl !== 'string') return usageError(serverUrl.error);
      if (!URL.canParse(serverUrl) || !/^https?:$/.test(new URL(serverUrl).protocol)) {
        return usageError(`--server must be an http(s) URL; got "${serverUrl}".`);
      }
      const installToken = nonEmpty(values.token, '--token');
      if (typeof installToken !== 'string') return usageError(installToken.error);
      if (values.hostname !== undefined && values.hostname.trim() === '') {
        return usageError('--hostname must not be empty.');
      }
      const tlsPins = values['tls-pin'];
      const badPin = tlsPins?.find((pin) => !isSpkiPin(pin));
      if (badPin !== undefined) {
        return usageError(`--tls-pin must be sha256/<base64 of 32 bytes>; got "${badPin}".`);
      }
      const tlsCaFile = values['tls-ca'];
      if (tlsCaFile !== undefined && tlsCaFile.trim() === '') {
        return usageError('--tls-ca must not be empty.');
      }
      if ((tlsPins !== undefined || tlsCaFile !== undefined) && !serverUrl.startsWith('https:')) {
        return usageError('--tls-pin and --tls-ca need an https:// --server.');
      }
      return {
        kind: 'enroll',
        stateDir,
        serverUrl,
        installToken,
        ...(values.hostname === undefined ? {} : { hostname: values.hostname }),
        ...(tlsPins === undefined ? {} : { tlsPins }),
        ...(tlsCaFile === undefined ? {} : { tlsCaFile }),
      };
    }
    case 'run': {
      const problem = expectPositionals(0, '');
      if (problem !== undefined) return usageError(problem);
      return { kind: 'run', stateDir, once: values.once === true };
    }
    case 'status': {
      const problem = expectPositionals(0, '');
      if (problem !== undefined) return usageError(problem);
      return { kind: 'status', stateDir, json: values.json === true };
    }
    case 'flush': {
      const problem = expectPositionals(0, '');
      if (problem !== undefined) return usageError(problem);
      return { kind: 'flush', stateDir };
    }
    case 'consent': {
      const problem = expectPositionals(0, '');
      if (problem !== undefined) return usageError(problem);
      const ttl = values['ttl-minutes'];
      if (ttl !== undefined && !/^([1-9]|[1-5][0-9]|60)$/.test(ttl)) {
        return usageError(`--ttl-minutes must be a whole number from 1 to 60; got "${ttl}".`);
      }
      return {
        kind: 'consent',
        stateDir,
        open: values.open === true,
        ...(ttl === undefined ? {} : { ttlMinutes: Number(ttl) }),
      };
    }
    case 'track': {
      const problem = expectPositionals(1, 'an event type, e.g. activity.app.launched');
      if (problem !== undefined) return usageError(problem);
      return { kind: 'track', stateDir, type: rest[0] as string, dataJson: values.data ?? '{}' };
    }
    default: {
      const problem = expectPositionals(1, 'a job name');
      if (problem !== undefined) return usageError(problem);
      const [childCommand, ...childArgs] = after;
      if (childCommand === undefined || childCommand === '') {
        return usageError('"job" needs a command to run after "--", e.g. job backup -- restic …');
      }
      const name = rest[0] as string;
      if (name.length > 128) return usageError('A job name is at most 128 characters.');
      return { kind: 'job', stateDir, name, command: childCommand, args: childArgs };
    }
  }
}
