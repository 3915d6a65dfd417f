// Serves a Fieldline app on a real socket on 127.0.0.1 for tests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateIdentity, type Identity } from '@fieldline/core';
import type { Kysely } from 'kysely';
import {
  createFieldlineApp,
  type FieldlineApp,
  type FieldlineAppOptions,
} from '../../src/app/create-fieldline-app.js';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import { toNodeListener } from '../../src/http/node-adapter.js';

export const OPERATOR_TOKEN = 'fl_admin_operator_token_for_tests_0123456789';
export const ACME_ADMIN_TOKEN = 'fl_admin_acme_token_for_tests_0123456789abc';
export const GLOBEX_ADMIN_TOKEN = 'fl_admin_globex_token_for_tests_0123456789ab';

export interface TestServer {
  readonly url: string;
  /** The listening node:http server (to attach the real-time gateway to). */
  readonly server: Server;
  readonly app: FieldlineApp;
  readonly serverIdentity: Identity;
  readonly errors: unknown[];
  close(): Promise<void>;
}

export async function startTestServer(
  db: Kysely<FieldlineDatabase>,
  appOptions: Partial<Omit<FieldlineAppOptions, 'db' | 'serverIdentity'>> = {},
): Promise<TestServer> {
  const serverIdentity = await generateIdentity();
  const errors: unknown[] = [];
  const app = createFieldlineApp({
    db,
    serverIdentity,
    adminCredentials: [
      { token: OPERATOR_TOKEN },
      { token: ACME_ADMIN_TOKEN, tenant: 'acme' },
      { token: GLOBEX_ADMIN_TOKEN, tenant: 'globex' },
    ],
    onError: (error) => errors.push(error),
    ...appOptions,
  });
  const server: Server = createServer(toNodeListener(app));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    app,
    serverIdentity,
    errors,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) =>
        server.close((e) => (e ? reject(e) : resolve())),
      );
    },
  };
}

/** A JSON request; returns status, headers and the parsed body. */
export async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  }
  const response = await fetch(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}
