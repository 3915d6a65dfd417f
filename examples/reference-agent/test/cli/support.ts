// A real reference server in the test process, and the built CLI run as a child process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type RunningServer, startServer } from '@fieldline/reference-server';

export const ADMIN_TOKEN = 'fl_admin_reference_agent_cli_tests_0123456789';
const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = resolve(here, '../..');
export const CLI = join(PACKAGE_DIR, 'dist/cli.js');

/** Fails early, with the fix, when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) {
    throw new Error(
      `${CLI} is missing: run \`npm run build -w @fieldline/reference-agent\` (root \`npm test\` builds first).`,
    );
  }
}

export interface Backend {
  readonly server: RunningServer;
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  admin(path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  installToken(tenant?: string): Promise<string>;
  publishPolicy(tenant?: string): Promise<void>;
  grant(deviceId: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startBackend(options: { port?: number; dataDir?: string } = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fl-ref-agent-server-'));
  const server = await startServer({
    port: options.port ?? 0,
    dataDir,
    adminToken: ADMIN_TOKEN,
    logger: createLogger({ level: 'silent' }),
  });
  const admin: Backend['admin'] = async (path, body) => {
    const response = await fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  const backend: Backend = {
    server,
    url: server.url,
    port: server.port,
    dataDir,
    admin,
    async installToken(tenant = 'acme') {
      const answer = await admin('/v1/admin/install-tokens', { tenant });
      if (answer.status !== 201 && answer.status !== 200) {
        throw new Error(`install token: ${answer.status}`);
      }
      return (answer.body as { token: string }).token;
    },
    async publishPolicy(tenant = 'acme') {
      const answer = await admin('/v1/admin/policies', {
        tenant,
        version: 1,
        scopes: ['activity', 'network'],
        text: 'The reference agent records app activity and network volume.',
      });
      if (answer.status !== 201) throw new Error(`policy: ${answer.status}`);
    },
    async grant(deviceId) {
      const answer = await admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
      if (answer.status !== 200) throw new Error(`grant: ${answer.status}`);
    },
    async stop() {
      await server.stop();
    },
  };
  return backend;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built CLI. Asynchronous on purpose: the server lives in this
 * process and must keep answering while the child runs.
 */
export function runCli(
  args: readonly string[],
  timeoutMs = 30_000,
  env?: NodeJS.ProcessEnv,
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(env === undefined ? {} : { env }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Stored rows of one device, heartbeats left out. */
export async function storedEvents(
  backend: Backend,
  deviceId: string,
): Promise<Array<{ id: string; type: string; data: unknown }>> {
  const rows = await backend.server.app.context.db
    .selectFrom('events')
    .select(['id', 'type', 'data'])
    .where('device_id', '=', deviceId)
    .where('type', '!=', 'device.heartbeat')
    .execute();
  return rows.map((row) => ({ id: row.id, type: row.type, data: row.data }));
}
