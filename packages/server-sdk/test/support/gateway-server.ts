// The API and the real-time gateway on one real socket on 127.0.0.1.
import type { Identity } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineApp } from '../../src/app/create-fieldline-app.js';
import type { ClusterBus } from '../../src/cluster/cluster-bus.js';
import type { CommandOutboxDefaults } from '../../src/commands/command-outbox.js';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import {
  createRealtimeGateway,
  type RealtimeGateway,
} from '../../src/realtime/create-realtime-gateway.js';
import type { RealtimeGatewayOptions } from '../../src/realtime/gateway-options.js';
import { startTestServer } from './test-server.js';

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
  options: RealtimeGatewayOptions & { bus?: ClusterBus; commands?: CommandOutboxDefaults } = {},
): Promise<GatewayServer> {
  const { bus, commands, ...gatewayOptions } = options;
  const base = await startTestServer(db, {
    ...(bus === undefined ? {} : { bus }),
    ...(commands === undefined ? {} : { commands }),
  });
  const gateway = createRealtimeGateway(base.app, gatewayOptions);
  gateway.on('error', (error) => base.errors.push(error));
  gateway.attach(base.server);
  return {
    url: base.url,
    app: base.app,
    gateway,
    serverIdentity: base.serverIdentity,
    errors: base.errors,
    async close() {
      await gateway.close();
      await base.close();
    },
  };
}
