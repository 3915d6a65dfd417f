// `fieldline-server rotate-keys` run as a user would (the built CLI): new keys in the data
// directory (0600), the previous ones kept for the overlap, and a rotation chain that verifies
// from the key agents pinned to the key a restarted server serves on GET /v1/server-keys.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publicKeysOf, serverKeysResponseSchema, verifyServerKeyChain } from '@fieldline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadServerIdentity, startServer } from '../../src/index.js';
import { makeTempDir } from '../support/temp-dir.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe.skipIf(!existsSync(CLI))('fieldline-server rotate-keys', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('rotates twice, keeps the chain verifiable from the first key, and a restarted server serves it', async () => {
    const { identity } = await loadServerIdentity(join(dir.path, 'server-identity.json'));
    const first = publicKeysOf(identity);

    const once = await runCli(['rotate-keys', '--data-dir', dir.path, '--overlap-days', '2']);
    expect(once.code).toBe(0);
    expect(once.stdout).toContain(`previous signing key: ${first.signingPublicKey}`);
    const twice = await runCli(['rotate-keys', '--data-dir', dir.path]);
    expect(twice.code).toBe(0);
    for (const file of ['server-identity.json', 'server-key-history.json']) {
      expect(statSync(join(dir.path, file)).mode & 0o777).toBe(0o600);
    }
    const history = JSON.parse(readFileSync(join(dir.path, 'server-key-history.json'), 'utf8'));
    expect(history.previous).toHaveLength(2);

    const server = await startServer({
      port: 0,
      dataDir: dir.path,
      adminToken: 'fl_admin_rotate_keys_cli_test_0123456789',
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const response = await fetch(`${server.url}/v1/server-keys`);
      expect(response.headers.get('fieldline-server-key')).toBe(
        server.serverPublicKeys.signingPublicKey,
      );
      const body = serverKeysResponseSchema.parse(await response.json());
      expect(body.current).toEqual(server.serverPublicKeys);
      expect(body.rotations).toHaveLength(2);
      // An agent that pinned the first key reaches the current one; a tampered chain does not.
      expect(verifyServerKeyChain(first, body)).toEqual(server.serverPublicKeys);
      const tampered = structuredClone(body);
      const last = tampered.rotations[1];
      if (last === undefined) throw new Error('no second rotation');
      tampered.rotations[1] = { ...last, previousNotAfter: '2999-01-01T00:00:00.000Z' };
      expect(verifyServerKeyChain(first, tampered)).toBeUndefined();
    } finally {
      await server.stop();
    }
  });

  it('keeps audit checkpoints signed before a rotation trusted after the restart', async () => {
    const audited = await makeTempDir();
    const adminToken = 'fl_admin_rotate_keys_audit_test_0123456789';
    const start = () =>
      startServer({
        port: 0,
        dataDir: audited.path,
        adminToken,
        logger: createLogger({ level: 'silent' }),
      });
    const verify = async (url: string) =>
      (await (
        await fetch(`${url}/v1/admin/audit/verify`, {
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).json()) as { ok: boolean; checkpoint: unknown; checkpointError?: unknown };
    try {
      const before = await start();
      const issued = await fetch(`${before.url}/v1/admin/install-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'default' }),
      });
      expect(issued.status).toBe(201);
      // stop() checkpoints the head, signed with the key about to be rotated away.
      await before.stop();
      expect((await runCli(['rotate-keys', '--data-dir', audited.path])).code).toBe(0);
      const after = await start();
      try {
        const answer = await verify(after.url);
        expect(answer.checkpointError ?? null).toBeNull();
        expect(answer.checkpoint).not.toBeNull();
        expect(answer.ok).toBe(true);
      } finally {
        await after.stop();
      }
    } finally {
      await audited.remove();
    }
  });

  it('refuses a bad --overlap-days with the usage and exit code 2', async () => {
    const bad = await runCli(['rotate-keys', '--data-dir', dir.path, '--overlap-days', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--overlap-days must be a whole number of days');
  });
});
