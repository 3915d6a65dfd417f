import { readFile } from 'node:fs/promises';
import type { AgentTlsOptions } from '@fieldline/agent-sdk';
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
  /** SPKI pins of the server's key or CA; kept in the state dir for every later command. */
  readonly tlsPins?: readonly string[];
  /** A PEM file of CA certificates to trust; its content is kept in the state dir. */
  readonly tlsCaFile?: string;
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
  let tls: AgentTlsOptions | undefined;
  if (options.tlsPins !== undefined || options.tlsCaFile !== undefined) {
    let ca: string | undefined;
    if (options.tlsCaFile !== undefined) {
      try {
        ca = await readFile(options.tlsCaFile, 'utf8');
      } catch (error) {
        io.err(`enroll failed: cannot read --tls-ca ${options.tlsCaFile}: ${describeError(error)}`);
        return { exitCode: 1 };
      }
    }
    tls = {
      ...(options.tlsPins === undefined ? {} : { pins: options.tlsPins }),
      ...(ca === undefined ? {} : { ca }),
    };
    if (options.tlsPins?.length === 1) {
      io.err(
        'warning: one --tls-pin and no backup: if the server ever changes its key, this device ' +
          'stops reaching it until it is re-enrolled. Add a second --tls-pin for a backup key.',
      );
    }
  }
  const agent = await openCliAgent({
    ...options,
    ...(tls === undefined ? {} : { agentOptions: { ...options.agentOptions, tls } }),
  });
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
