// The built reference server (dist/cli.js) in a child process, as an operator runs it: the
// tests talk to it over real sockets on 127.0.0.1, from outside its process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHttpTransport, type Transport } from '../../src/transport/http-transport.js';

export const SERVER_CLI = fileURLToPath(
  new URL('../../../reference-server/dist/cli.js', import.meta.url),
);
const ADMIN_TOKEN = 'fl_admin_transport_test_token_0123456789abcdef';

export interface SpawnedServer {
  readonly url: string;
  readonly stdout: () => string;
  /** Admin API call (JSON). */
  admin(path: string, body?: unknown): Promise<{ status: number; body: any }>;
  installToken(tenant?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function spawnReferenceServer(
  options: { readonly args?: readonly string[]; readonly caPem?: string } = {},
): Promise<SpawnedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fl-transport-server-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FIELDLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.FIELDLINE_TLS_CERT;
  delete env.FIELDLINE_TLS_KEY;
  const child: ChildProcess = spawn(
    process.execPath,
    [SERVER_CLI, 'start', '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 45_000;
  while (!stdout.includes('Press Ctrl+C')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`The server did not start.\nstdout: ${stdout}\nstderr: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = /listening on (https?:\/\/\S+)/.exec(stdout)?.[1] as string;
  const transport: Transport = createHttpTransport(
    options.caPem === undefined ? {} : { tls: { ca: options.caPem } },
  );
  const admin = async (path: string, body?: unknown) => {
    const response = await transport.request({
      method: body === undefined ? 'GET' : 'POST',
      url: `${url}${path}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: response.body as any };
  };
  return {
    url,
    stdout: () => stdout,
    admin,
    async installToken(tenant = 'acme') {
      const answer = await admin('/v1/admin/install-tokens', { tenant });
      if (answer.status !== 201 && answer.status !== 200) {
        throw new Error(`install token: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      return answer.body.token as string;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
