import {
  type Clock,
  CONSENT_PAGE_PATH,
  consentLinkUrl,
  createConsentLinkToken,
  type Identity,
  isInvalidArgumentError,
  type Random,
} from '@fieldline/core';
import { AgentError } from './agent-errors.js';
import type { EnrollmentFile } from './state/state-files.js';

/** Options of `Agent.createConsentLink`. */
export interface ConsentLinkOptions {
  /**
   * How long the link can be opened, in ms: at most one hour.
   * @default 600_000 (10 minutes)
   */
  readonly ttlMs?: number;
  /**
   * The consent page's path under the server URL the device enrolled with.
   * @default '/console/consent'
   */
  readonly pagePath?: string;
}

/** A link to the employee's consent page, signed by this device. */
export interface ConsentLink {
  /** `<server>/console/consent#t=<token>`: print it or open it in a browser. */
  readonly url: string;
  /** The signed token alone (what the page exchanges for its session). */
  readonly token: string;
  /** The device the page will be about. */
  readonly deviceId: string;
  /** When the link stops opening, RFC 3339. */
  readonly expiresAt: string;
}

/**
 * Mints a consent link from the device's enrollment and identity (docs/consent-page.md). Pure
 * apart from the clock and randomness: nothing is sent, so it works while the server is away;
 * the server checks the signature when the link is opened.
 *
 * @param enrollment - the device's enrollment (server URL, device id, tenant).
 * @param identity - the device's identity; its Ed25519 key signs.
 * @param options - lifetime, page path, clock and randomness.
 * @returns the link.
 * @throws {@link AgentError} `invalid_options` for a lifetime outside 1 ms to one hour.
 * @internal
 */
export function mintConsentLink(
  enrollment: Pick<EnrollmentFile, 'serverUrl' | 'deviceId' | 'tenant'>,
  identity: Identity,
  options: ConsentLinkOptions & { readonly clock: Clock; readonly random: Random },
): ConsentLink {
  let minted: ReturnType<typeof createConsentLinkToken>;
  try {
    minted = createConsentLinkToken(
      { deviceId: enrollment.deviceId, tenant: enrollment.tenant },
      identity,
      {
        clock: options.clock,
        random: options.random,
        ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
      },
    );
  } catch (error) {
    if (!isInvalidArgumentError(error)) throw error;
    throw new AgentError('invalid_options', error.message, {
      ...(error.details === undefined ? {} : { details: { ...error.details } }),
      cause: error,
    });
  }
  return {
    url: consentLinkUrl(enrollment.serverUrl, minted.token, options.pagePath ?? CONSENT_PAGE_PATH),
    token: minted.token,
    deviceId: enrollment.deviceId,
    expiresAt: new Date(minted.claims.exp).toISOString(),
  };
}
