import {
  type EnrollmentSummary,
  type OpenCliAgentOptions,
  openCliAgent,
  readEnrollmentSummary,
} from '../agent/open-cli-agent.js';
import type { CommandIo, CommandOutcome } from '../cli/command-io.js';
import { describeConsent } from '../format/describe-consent.js';
import { describeError } from './describe-error.js';

/** Options of {@link enrollCommand}. */
export interface EnrollCommandOptions extends OpenCliAgentOptions {
  /** Server base URL. */
  readonly serverUrl: string;
  /** The one-time install token. */
  readonly installToken: string;
  /**
   * Host name to report.
   * @default os.hostname()
   */
  readonly hostname?: string;
}

/** What {@link enrollCommand} did. */
export interface EnrollOutcome extends CommandOutcome {
  /** The enrollment, when it succeeded. */
  readonly enrollment?: EnrollmentSummary;
  /** The consent status the server reported (`pending` until an admin grants). */
  readonly consentStatus?: string;
}

/**
 * `fieldline-agent enroll`: enrolls the device with an install token, writes
 * `status.json`, and prints the device id and tenant. Safe to repeat: the old
 * identity is replaced only once the server accepted the new one.
 *
 * @param options - state directory, server, token, host name.
 * @param io - where to print.
 * @returns exit code 0, or 1 when the server refused or could not be reached.
 * @example
 * ```ts
 * await enrollCommand({ stateDir, serverUrl: 'http://127.0.0.1:8080', installToken }, io);
 * ```
 */
export async function enrollCommand(
  options: EnrollCommandOptions,
  io: CommandIo,
): Promise<EnrollOutcome> {
  const agent = await openCliAgent(options);
  try {
    await agent.enroll({
      serverUrl: options.serverUrl,
      installToken: options.installToken,
      ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
    });
  } catch (error) {
    io.err(`enroll failed: ${describeError(error)}`);
    return { exitCode: 1 };
  }
  await agent.writeStatusFile();
  const enrollment = await readEnrollmentSummary(options.stateDir);
  const status = agent.status();
  io.out(`device id: ${status.deviceId ?? enrollment?.deviceId ?? 'unknown'}`);
  io.out(`tenant:    ${enrollment?.tenant ?? 'unknown'}`);
  io.out(`server:    ${status.serverUrl ?? options.serverUrl}`);
  io.out(`consent:   ${describeConsent(status.consent)}`);
  if (status.consent.status !== 'granted') {
    io.err(
      'Nothing but heartbeats is sent until an admin grants consent for this device ' +
        '(POST /v1/admin/devices/<device id>/consent {"action":"grant"}).',
    );
  }
  return {
    exitCode: 0,
    ...(enrollment === undefined ? {} : { enrollment }),
    consentStatus: status.consent.status,
  };
}
