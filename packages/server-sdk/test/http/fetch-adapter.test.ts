// The fetch-style adapter (what Hono, Bun, Deno and edge runtimes mount), and
// the embed example that mounts the API inside an existing node:http app.

import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { generateIdentity } from '@fieldline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldlineApp } from '../../src/app/create-fieldline-app.js';
import { createDatabase, type FieldlineDb } from '../../src/db/create-database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { type FetchHandler, toFetchHandler } from '../../src/http/fetch-adapter.js';

const ADMIN = 'fl_admin_fetch_adapter_test_token_0000';

describe('toFetchHandler', () => {
  let database: FieldlineDb;
  let handle: FetchHandler;
  beforeAll(async () => {
    database = await createDatabase({});
    await migrateToLatest(database.db);
    const app = createFieldlineApp({
      db: database.db,
      serverIdentity: await generateIdentity(),
      adminCredentials: [{ token: ADMIN }],
    });
    handle = toFetchHandler(app, { maxBodyBytes: 4096 });
  });
  afterAll(async () => {
    await database.close();
  });

  it('answers routes with JSON and the right status', async () => {
    const health = await handle(new Request('http://app.example/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const created = await handle(
      new Request('http://app.example/v1/admin/install-tokens', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'acme' }),
      }),
    );
    expect(created.status).toBe(201);
    expect(((await created.json()) as { token: string }).token).toMatch(/^fl_install_/);
  });

  it('decodes gzip bodies and caps body size', async () => {
    const gzipped = await handle(
      new Request('http://app.example/v1/admin/install-tokens', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ADMIN}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body: gzipSync(JSON.stringify({ tenant: 'acme', ttlSeconds: 60 })),
      }),
    );
    expect(gzipped.status).toBe(201);
    const big = await handle(
      new Request('http://app.example/v1/admin/install-tokens', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: 'x'.repeat(10_000),
      }),
    );
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe(
      'payload_too_large',
    );
  });
});

describe('examples/embed-server', () => {
  it('serves the app and the Fieldline API from one server', async () => {
    // A runtime URL keeps tsc from looking for types of the plain-JS example.
    const examplePath = new URL('../../../../examples/embed-server/app-server.mjs', import.meta.url)
      .href;
    const { createAppServer } = (await import(examplePath)) as {
      createAppServer: () => Promise<{
        server: import('node:http').Server;
        adminToken: string;
        close(): Promise<void>;
      }>;
    };
    const app = await createAppServer();
    await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
    const { port } = app.server.address() as AddressInfo;
    try {
      const own = await fetch(`http://127.0.0.1:${port}/`);
      expect(await own.text()).toBe('my app\n');
      const devices = await fetch(`http://127.0.0.1:${port}/v1/admin/devices`, {
        headers: { authorization: `Bearer ${app.adminToken}` },
      });
      expect(await devices.json()).toEqual({ devices: [] });
      const missing = await fetch(`http://127.0.0.1:${port}/nope`);
      expect(missing.status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
