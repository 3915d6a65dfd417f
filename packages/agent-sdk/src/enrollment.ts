import { hostname as osHostname } from 'node:os';
import {
  type Clock,
  type EnrollResponse,
  enrollResponseSchema,
  exportIdentity,
  generateIdentity,
  type Identity,
  publicKeysOf,
} from '@fieldline/core';
import { AgentError } from './agent-errors.js';
import { writePrivateFile } from './state/private-file.js';
import type { EnrollmentFile, StatePaths, TlsFile } from './state/state-files.js';
import type { Transport } from './transport/http-transport.js';
import type { AgentTlsOptions } from './transport/tls-connect-options.js';
import { findTlsPinError } from './transport/tls-pin-error.js';

/** What `enroll` needs. */
export interface EnrollOptions {
  /** Base URL of the server, e.g. `https://fieldline.example.com`. */
  readonly serverUrl: string;
  /** The one-time install token an admin created. */
  readonly installToken: string;
  /**
   * Reported host name.
   * @default os.hostname()
   */
  readonly hostname?: string;
}

/** The outcome of a successful enrollment. */
export interface Enrolled {
  readonly identity: Identity;
  readonly enrollment: EnrollmentFile;
  readonly response: EnrollResponse;
}

/**
 * Enrolls the device: makes a new identity on the device, sends its public
 * keys with the install token, and only once the server has answered writes
 * the new identity and enrollment (both 0600, atomically) over any old ones,
 * so a failed or interrupted re-enrollment leaves the previous identity intact. The TLS pins
 * and CAs it enrolled with (`deps.tls`) are kept beside them for later runs.
 *
 * @param paths - the state directory layout.
 * @param options - server, install token, host name.
 * @param deps - transport, clock, agent version, the TLS trust to keep.
 * @returns the new identity, the enrollment record and the server's answer.
 * @throws {@link AgentError} `enrollment_failed` (with the server's error code) or `server_unreachable`.
 * @throws {@link TlsPinError} when the server's certificate matches no pin (nothing was sent).
 */
export async function enrollDevice(
  paths: StatePaths,
  options: EnrollOptions,
  deps: {
    readonly transport: Transport;
    readonly clock: Clock;
    readonly agentVersion?: string;
    readonly tls?: AgentTlsOptions;
  },
): Promise<Enrolled> {
  const serverUrl = options.serverUrl.replace(/\/+$/, '');
  const identity = await generateIdentity();
  let response: Awaited<ReturnType<Transport['request']>>;
  try {
    response = await deps.transport.request({
      method: 'POST',
      url: `${serverUrl}/v1/enroll`,
      headers: { authorization: `Bearer ${options.installToken}` },
      body: JSON.stringify({
        hostname: options.hostname ?? osHostname(),
        os: process.platform,
        arch: process.arch,
        ...(deps.agentVersion === undefined ? {} : { agentVersion: deps.agentVersion }),
        publicKeys: publicKeysOf(identity),
      }),
    });
  } catch (cause) {
    // A pin mismatch is not "unreachable": the caller must see it as what it is.
    const pinError = findTlsPinError(cause);
    if (pinError !== undefined) throw pinError;
    throw new AgentError('server_unreachable', `Could not reach ${serverUrl} to enroll.`, {
      cause,
    });
  }
  if (response.status !== 201) {
    const error = (response.body as { error?: { code?: string; message?: string } } | undefined)
      ?.error;
    throw new AgentError(
      'enrollment_failed',
      `Enrollment was refused (${response.status} ${error?.code ?? 'unknown'}): ${error?.message ?? 'no details'}`,
      { details: { status: response.status, code: error?.code } },
    );
  }
  const parsed = enrollResponseSchema.safeParse(response.body);
  if (!parsed.success) {
    throw new AgentError(
      'enrollment_failed',
      'The server answered enrollment with an unexpected body.',
    );
  }
  const enrollment: EnrollmentFile = {
    version: 1,
    serverUrl,
    deviceId: parsed.data.deviceId,
    tenant: parsed.data.tenant,
    deviceToken: parsed.data.deviceToken,
    serverPublicKeys: parsed.data.serverPublicKeys,
    enrolledAt: new Date(deps.clock.now()).toISOString(),
  };
  await writePrivateFile(paths.identity, `${JSON.stringify(exportIdentity(identity), null, 2)}\n`);
  // Before the enrollment: an enrollment on disk is never without the pins it was made with.
  if (deps.tls !== undefined) {
    const ca = deps.tls.ca === undefined ? undefined : [deps.tls.ca].flat();
    const tlsFile: TlsFile = {
      version: 1,
      pins: [...(deps.tls.pins ?? [])],
      ...(ca === undefined ? {} : { ca }),
    };
    await writePrivateFile(paths.tls, `${JSON.stringify(tlsFile, null, 2)}\n`);
  }
  await writePrivateFile(paths.enrollment, `${JSON.stringify(enrollment, null, 2)}\n`);
  return { identity, enrollment, response: parsed.data };
}
