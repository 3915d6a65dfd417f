import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { spkiPinOf } from '@fieldline/core';
import { ServerStartError } from '../errors/server-start-error.js';

/** Where the server's TLS certificate and key are. */
export interface ServerTlsOptions {
  /** PEM certificate chain: the server's certificate first, then any intermediates. */
  readonly certFile: string;
  /** PEM private key of that certificate (unencrypted; keep it 0600). */
  readonly keyFile: string;
}

/** The loaded, checked certificate and key. */
export interface LoadedTls {
  /** The certificate file, absolute. */
  readonly certFile: string;
  /** Its PEM content. */
  readonly cert: Buffer;
  /** The PEM private key. */
  readonly key: Buffer;
  /** The SPKI pin of the leaf certificate's key (`sha256/<base64>`). */
  readonly spkiPin: string;
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ServerStartError(
      'invalid_tls_files',
      `Cannot read the TLS ${what} ${path}: ${(cause as Error).message}.`,
      { cause, details: { path } },
    );
  }
}

/**
 * Reads the certificate and key and checks that they are PEM and belong together, so a
 * mistake stops the start with a message rather than failing every handshake later.
 *
 * @param options - the two file paths.
 * @returns the file contents and the certificate key's SPKI pin.
 * @throws {@link ServerStartError} `invalid_tls_files` for a missing, unreadable, malformed
 *   or mismatched file.
 * @example
 * ```ts
 * const tls = await loadTlsFiles({ certFile: 'cert.pem', keyFile: 'key.pem' });
 * ```
 */
export async function loadTlsFiles(options: ServerTlsOptions): Promise<LoadedTls> {
  const certFile = resolve(options.certFile);
  const keyFile = resolve(options.keyFile);
  const cert = await readPem(certFile, 'certificate');
  const key = await readPem(keyFile, 'key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (cause) {
    throw new ServerStartError(
      'invalid_tls_files',
      `${certFile} is not a PEM certificate (expected "-----BEGIN CERTIFICATE-----").`,
      { cause, details: { path: certFile } },
    );
  }
  try {
    // Throws for a malformed key or one that does not match the certificate.
    createSecureContext({ cert, key });
  } catch (cause) {
    throw new ServerStartError(
      'invalid_tls_files',
      `The TLS key ${keyFile} cannot be used with ${certFile}: ${(cause as Error).message}.`,
      { cause, details: { certFile, keyFile } },
    );
  }
  const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  return { certFile, cert, key, spkiPin: spkiPinOf(spki) };
}
