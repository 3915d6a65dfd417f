// The API and the real-time gateway on one real socket on 127.0.0.1.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateIdentity, type Identity } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { createFieldlineApp, type FieldlineApp } from '../../src/app/create-fieldline-app.js';
import type { ClusterBus } from '../../src/cluster/cluster-bus.js';
import type { CommandOutboxDefaults } from '../../src/commands/command-outbox.js';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import { toNodeListener } from '../../src/http/node-adapter.js';
import {
  createRealtimeGateway,
  type RealtimeGateway,
} from '../../src/realtime/create-realtime-gateway.js';
import type { RealtimeGatewayOptions } from '../../src/realtime/gateway-options.js';
import { ACME_ADMIN_TOKEN, GLOBEX_ADMIN_TOKEN, OPERATOR_TOKEN } from './test-server.js';

export interface GatewayServer {
  readonly url: string;
  readonly app: FieldlineApp;
  readonly gateway: RealtimeGateway;
  readonly serverIdentity: Identity;
  readonly errors: unknown[];
  close(): Promise<void>;
}

export async function startGatewayServer(
  db: Kysely<FieldlineDatabase>,
  options: RealtimeGatewayOptions & {
    bus?: ClusterBus;
    serverIdentity?: Identity;
    commands?: CommandOutboxDefaults;
  } = {},
): Promise<GatewayServer> {
  const serverIdentity = options.serverIdentity ?? (await generateIdentity());
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
    ...(options.bus === undefined ? {} : { bus: options.bus }),
    ...(options.commands === undefined ? {} : { commands: options.commands }),
  });
  const gateway = createRealtimeGateway(app, options);
  gateway.on('error', (error) => errors.push(error));
  const server = createServer(toNodeListener(app));
  gateway.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    gateway,
    serverIdentity,
    errors,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
