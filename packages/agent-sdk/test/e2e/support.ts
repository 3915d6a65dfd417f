// A real reference server (in this process, embedded PGlite in a temp dir)
// and helpers to drive it as an admin would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type RunningServer, startServer } from '@fieldline/reference-server';

export const ADMIN_TOKEN = 'fl_admin_agent_e2e_token_0123456789abcdef';

export interface TestBackend {
  readonly server: RunningServer;
  readonly url: string;
  admin(path: string, body?: unknown, method?: string): Promise<{ status: number; body: any }>;
  installToken(tenant?: string): Promise<string>;
  /** Ids of the device's stored events, heartbeats left out. */
  storedEventIds(deviceId: string): Promise<string[]>;
  stop(): Promise<void>;
}

const quietLogger = createLogger({ level: 'silent' });

export async function startBackend(
  options: { port?: number; dataDir?: string } = {},
): Promise<TestBackend> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fl-agent-e2e-server-'));
  const server = await startServer({
    port: options.port ?? 0,
    dataDir,
    adminToken: ADMIN_TOKEN,
    logger: quietLogger,
  });
  const admin = async (path: string, body?: unknown, method?: string) => {
    const response = await fetch(`${server.url}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    server,
    url: server.url,
    admin,
    async installToken(tenant = 'acme') {
      return (await admin('/v1/admin/install-tokens', { tenant })).body.token as string;
    },
    async storedEventIds(deviceId) {
      const rows = await server.app.context.db
        .selectFrom('events')
        .select('id')
        .where('device_id', '=', deviceId)
        .where('type', '!=', 'device.heartbeat')
        .execute();
      return rows.map((row) => row.id);
    },
    async stop() {
      await server.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'fl-agent-e2e-state-'));
}
