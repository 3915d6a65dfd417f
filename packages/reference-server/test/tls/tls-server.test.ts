// HTTPS/WSS from certificate files (issue 11 point 12), with throwaway certificates made by the
// openssl CLI: the built CLI serves HTTPS and upgrades /v1/ws on the same port, and a bad
// certificate/key pair stops the start with a message instead of failing every handshake.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isServerStartError } from '../../src/errors/server-start-error.js';
import { loadTlsFiles } from '../../src/tls/load-tls-files.js';
import { makeTempDir } from '../support/temp-dir.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function openssl(cwd: string, args: readonly string[]): void {
  execFileSync('openssl', [...args], { cwd, stdio: 'ignore' });
}

function selfSigned(cwd: string, name: string): void {
  openssl(cwd, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete base.DATABASE_URL;
  delete base.FIELDLINE_TLS_CERT;
  delete base.FIELDLINE_TLS_KEY;
  return { ...base, FIELDLINE_ADMIN_TOKEN: 'fl_admin_tls_server_test_0123456789abcdef', ...extra };
}

function run(args: readonly string[], extraEnv: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    env: env(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString('utf8');
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exit };
}

describe.skipIf(!existsSync(CLI))('the reference server over TLS', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir('fieldline-tls-');
    selfSigned(dir.path, 'server');
    selfSigned(dir.path, 'other');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('serves HTTPS and WSS on one port from FIELDLINE_TLS_CERT/FIELDLINE_TLS_KEY', async () => {
    const server = run(['start', '--port', '0', '--data-dir', join(dir.path, 'data')], {
      FIELDLINE_TLS_CERT: join(dir.path, 'server.pem'),
      FIELDLINE_TLS_KEY: join(dir.path, 'server.key'),
    });
    try {
      await expect
        .poll(() => server.output.stdout, { timeout: 45_000, interval: 100 })
        .toMatch(/Press Ctrl\+C to stop/);
      const url = /listening on (https:\/\/\S+)/.exec(server.output.stdout)?.[1] as string;
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const pin = (
        await loadTlsFiles({
          certFile: join(dir.path, 'server.pem'),
          keyFile: join(dir.path, 'server.key'),
        })
      ).spkiPin;
      expect(server.output.stdout).toContain(`TLS pin:      ${pin}`);
      const ca = readFileSync(join(dir.path, 'server.pem'));
      const status = await new Promise<number | undefined>((resolve, reject) => {
        request(`${url}/healthz`, { ca }, (response) => {
          response.resume();
          resolve(response.statusCode);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
      // The gateway upgrades on the TLS server: a socket opens (then waits for a hello).
      const socket = new WebSocket(`${url.replace('https:', 'wss:')}/v1/ws`, { ca });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.terminate();
      // A client that does not trust the certificate is refused by TLS itself.
      const untrusted = await new Promise<string>((resolve) => {
        request(`${url}/healthz`, (response) => {
          response.resume();
          resolve(`answered ${response.statusCode}`);
        })
          .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
          .end();
      });
      expect(untrusted).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    } finally {
      server.child.kill('SIGTERM');
      await server.exit;
    }
  }, 60_000);

  it('refuses to start with a certificate but no key (exit 2)', async () => {
    const started = run(['start', '--port', '0', '--data-dir', join(dir.path, 'data2')], {
      FIELDLINE_TLS_CERT: join(dir.path, 'server.pem'),
    });
    expect(await started.exit).toBe(2);
    expect(started.output.stderr).toMatch(/TLS needs both a certificate and its key/);
  }, 30_000);

  it('refuses a key that does not belong to the certificate, or a file that is not PEM', async () => {
    const mismatched = await loadTlsFiles({
      certFile: join(dir.path, 'server.pem'),
      keyFile: join(dir.path, 'other.key'),
    }).catch((error: unknown) => error);
    expect(isServerStartError(mismatched)).toBe(true);
    expect(mismatched).toMatchObject({ code: 'invalid_tls_files' });
    expect((mismatched as Error).message).toMatch(/other\.key cannot be used with .*server\.pem/);

    writeFileSync(join(dir.path, 'garbage.pem'), 'not a certificate\n');
    const garbage = await loadTlsFiles({
      certFile: join(dir.path, 'garbage.pem'),
      keyFile: join(dir.path, 'server.key'),
    }).catch((error: unknown) => error);
    expect(garbage).toMatchObject({ code: 'invalid_tls_files' });
    expect((garbage as Error).message).toMatch(/is not a PEM certificate/);

    const missing = run([
      'start',
      '--port',
      '0',
      '--data-dir',
      join(dir.path, 'data3'),
      '--tls-cert',
      join(dir.path, 'nope.pem'),
      '--tls-key',
      join(dir.path, 'server.key'),
    ]);
    expect(await missing.exit).toBe(1);
    expect(missing.output.stderr).toMatch(/Cannot read the TLS certificate .*nope\.pem/);
  }, 30_000);
});
