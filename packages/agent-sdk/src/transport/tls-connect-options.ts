import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { isSpkiPin, spkiPinOf } from '@fieldline/core';
import { AgentError } from '../agent-errors.js';
import { TlsPinError } from './tls-pin-error.js';

/**
 * How the agent trusts the server's TLS identity, on every HTTPS request and on the WSS
 * connection alike.
 */
export interface AgentTlsOptions {
  /**
   * SPKI pins (`sha256/<base64>`, the SHA-256 of a DER SubjectPublicKeyInfo, as in RFC 7469):
   * every connection must present a chain (leaf, intermediates or root) holding at least one
   * of these keys, on top of the usual certificate and host name checks. Give two or more: the
   * current key and a backup key kept offline, so the server can move to the backup without
   * stranding its agents. Empty or absent: no pinning.
   * @default []
   */
  readonly pins?: readonly string[];
  /**
   * Certificate authorities (PEM) to trust instead of Node's bundled roots, e.g. the private
   * CA that signed the server's certificate. Absent: Node's default roots.
   */
  readonly ca?: string | readonly string[];
}

/** What `tls.connect` (under undici and `ws`) takes from {@link AgentTlsOptions}. */
export interface TlsConnectOptions {
  readonly ca?: string | string[];
  readonly checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * Checks pins for well-formedness and turns the options into `tls.connect` options.
 *
 * @internal
 * @param tls - the agent's TLS options.
 * @returns the connect options (empty when nothing is configured).
 * @throws {@link AgentError} `invalid_options` for a malformed pin.
 */
export function createTlsConnectOptions(tls: AgentTlsOptions | undefined): TlsConnectOptions {
  const pins = tls?.pins ?? [];
  for (const pin of pins) {
    if (typeof pin !== 'string' || !isSpkiPin(pin)) {
      throw new AgentError(
        'invalid_options',
        `"${String(pin)}" is not an SPKI pin; expected sha256/ and the base64 SHA-256 of the key ` +
          '(openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64).',
      );
    }
  }
  const ca = tls?.ca === undefined ? undefined : typeof tls.ca === 'string' ? tls.ca : [...tls.ca];
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(pins.length === 0 ? {} : { checkServerIdentity: pinnedIdentityCheck(pins) }),
  };
}

// Not `cert.pubkey`: for EC keys Node gives the bare curve point there, not the SPKI that
// pins (and openssl's pin pipeline) hash. The DER certificate yields the SPKI for every key type.
function spkiOf(certificateDer: Uint8Array): Buffer {
  return new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'der' });
}

function pinnedIdentityCheck(
  pins: readonly string[],
): (host: string, cert: PeerCertificate) => Error | undefined {
  const expected = new Set(pins);
  return (host, cert) => {
    // Replacing checkServerIdentity replaces Node's host name check: keep it first.
    const hostError = checkServerIdentity(host, cert);
    if (hostError !== undefined) return hostError;
    // Node passes the detailed certificate: walk issuers up to the (self-issued) root, so a
    // pin may name the leaf key or a CA key, as HPKP allowed.
    const presented: string[] = [];
    const seen = new Set<PeerCertificate>();
    let current: PeerCertificate | undefined = cert;
    while (current !== undefined && !seen.has(current) && current.raw !== undefined) {
      seen.add(current);
      const pin = spkiPinOf(spkiOf(current.raw));
      if (expected.has(pin)) return undefined;
      presented.push(pin);
      current = (current as { issuerCertificate?: PeerCertificate }).issuerCertificate;
    }
    return new TlsPinError(
      `The TLS certificate of ${host} matches none of the ${expected.size} pinned key(s); ` +
        'nothing was sent. Someone may be intercepting the connection, or the server moved to ' +
        'a key that was not pinned: check with its operator, then re-enroll with its current pins.',
      { host, presented, expected: [...expected] },
    );
  };
}
