// Throwaway TLS material made with the openssl CLI at test time: a CA, a server certificate it
// signed for 127.0.0.1 and localhost, a second key for a backup pin, and an unrelated CA.
import { execFileSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spkiPinOf } from '@fieldline/core';

export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The pin of the server certificate's key. */
  readonly serverPin: string;
  /** The pin of the CA's key (a chain pin). */
  readonly caPin: string;
  /** A key no certificate uses: a backup pin that does not match. */
  readonly unusedPin: string;
  /** The pin of the server key as the documented openssl pipeline computes it. */
  readonly opensslServerPin: string;
}

function openssl(dir: string, args: readonly string[]): Buffer {
  return execFileSync('openssl', [...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function pinOfCertificate(pem: string): string {
  return spkiPinOf(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }));
}

export function makeTestCertificates(dir: string): TestCertificates {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    dir,
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2'].concat([
      '-subj',
      '/CN=Fieldline Test CA',
    ]),
  );
  openssl(dir, [
    'req',
    ...ec,
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  ]);
  openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    'unused.key',
  ]);
  const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const serverPem = readFileSync(join(dir, 'server.pem'), 'utf8');
  const unusedSpki = createPublicKey(readFileSync(join(dir, 'unused.key'))).export({
    type: 'spki',
    format: 'der',
  });
  // The pipeline docs/security.md gives operators, run through a shell as they would.
  const opensslDigest = execFileSync(
    'sh',
    [
      '-c',
      'openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64',
    ],
    { cwd: dir },
  )
    .toString('utf8')
    .trim();
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caPem,
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    serverPin: pinOfCertificate(serverPem),
    caPin: pinOfCertificate(caPem),
    unusedPin: spkiPinOf(unusedSpki),
    opensslServerPin: `sha256/${opensslDigest}`,
  };
}
