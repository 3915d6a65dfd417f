import { spawn } from 'node:child_process';
import type { ConsentLink } from '@fieldline/agent-sdk';
import { type OpenCliAgentOptions, openCliAgent } from '../agent/open-cli-agent.js';
import type { CommandIo, CommandOutcome } from '../cli/command-io.js';
import { describeError } from './describe-error.js';

/** Options of {@link consentCommand}. */
export interface ConsentCommandOptions extends OpenCliAgentOptions {
  /**
   * Also hand the link to a browser.
   * @default false
   */
  readonly open?: boolean;
  /**
   * How long the link opens, in minutes (1 to 60).
   * @default 10
   */
  readonly ttlMinutes?: number;
  /**
   * What opens the link in a browser when `open` is set; its failure is ignored.
   * @default openInBrowser (xdg-open)
   */
  readonly opener?: (url: string) => void;
}

/** What {@link consentCommand} did. */
export interface ConsentOutcome extends CommandOutcome {
  /** The link, when one was made. */
  readonly link?: ConsentLink;
}

/**
 * Hands a URL to the desktop's browser with `xdg-open`, detached, without waiting; a missing
 * `xdg-open` or a headless machine is not an error (the link is printed anyway).
 *
 * @param url - the URL to open.
 * @example
 * ```ts
 * openInBrowser('http://127.0.0.1:8080/console/consent#t=…');
 * ```
 */
export function openInBrowser(url: string): void {
  try {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => {
      // No xdg-open: the printed link is the fallback.
    });
    child.unref();
  } catch {
    // spawn can throw synchronously (e.g. EACCES); the printed link is the fallback.
  }
}

function localTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/**
 * `fieldline-agent consent`: prints a link, signed with this device's key, to the employee's
 * consent page, where the person using the device reads the policy, grants or withdraws per
 * scope, fetches signed receipts and sees summaries of what was collected, without an operator
 * account. Nothing is sent: the server checks the signature when the link is opened, once.
 * The URL is the only line on stdout; the explanation goes to stderr.
 *
 * @param options - state directory, `open`, lifetime.
 * @param io - where to print.
 * @returns exit code 0 with the link, or 1 when the device is not enrolled or the state
 *   directory cannot be read.
 * @example
 * ```ts
 * const { link } = await consentCommand({ stateDir, open: true }, io);
 * ```
 */
export async function consentCommand(
  options: ConsentCommandOptions,
  io: CommandIo,
): Promise<ConsentOutcome> {
  let link: ConsentLink;
  try {
    const agent = await openCliAgent(options);
    if (agent.status().deviceId === null) {
      io.err('This device is not enrolled; run `fieldline-agent enroll` first.');
      return { exitCode: 1 };
    }
    link = agent.createConsentLink(
      options.ttlMinutes === undefined ? {} : { ttlMs: options.ttlMinutes * 60_000 },
    );
  } catch (error) {
    io.err(`cannot make a consent link: ${describeError(error)}`);
    return { exitCode: 1 };
  }
  io.out(link.url);
  io.err(
    `Open this link to see and change what device ${link.deviceId} may collect. ` +
      `It works once, until ${localTime(link.expiresAt)}; run this command again for a new one.`,
  );
  if (options.open === true) (options.opener ?? openInBrowser)(link.url);
  return { exitCode: 0, link };
}
