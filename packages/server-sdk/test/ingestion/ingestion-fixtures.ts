// Shared set-up for the ingestion tests: real identities, real sealing, rows inserted directly.
import { randomUUID } from 'node:crypto';
import {
  createEnvelopeFactory,
  type EventBatch,
  encodeBase64Url,
  encodeSealedBody,
  generateIdentity,
  type Identity,
  SealKind,
  sealJson,
} from '@fieldline/core';
import type { FakeClock } from '@fieldline/core/testing';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import type { IngestionDevice } from '../../src/ingestion/index.js';

export interface TestDevice extends IngestionDevice {
  readonly identity: Identity;
}

let counter = 0;

/** Inserts a tenant (once) and a fresh device with a new identity. */
export async function createTestDevice(
  db: Kysely<FieldlineDatabase>,
  tenantId = 'acme',
): Promise<TestDevice> {
  counter += 1;
  const identity = await generateIdentity();
  const id = `dev-${counter}-${randomUUID().slice(0, 8)}`;
  await db
    .insertInto('tenants')
    .values({ id: tenantId })
    .onConflict((c) => c.column('id').doNothing())
    .execute();
  const signingPublicKey = encodeBase64Url(identity.signingPublicKey);
  await db
    .insertInto('devices')
    .values({
      id,
      tenant_id: tenantId,
      hostname: 'host',
      os: 'linux',
      arch: 'x64',
      agent_version: null,
      signing_public_key: signingPublicKey,
      encryption_public_key: encodeBase64Url(identity.encryptionPublicKey),
      status: 'active',
      drops: '{}',
    })
    .execute();
  return { id, tenantId, signingPublicKey, identity };
}

/** Valid built-in events: `activity` scope unless told otherwise. */
export function makeEvents(clock: FakeClock, count: number, type = 'activity.system.active') {
  const envelopes = createEnvelopeFactory({ clock });
  return Array.from({ length: count }, (_, i) =>
    type === 'activity.network.volume'
      ? envelopes.create(type, 'network', { intervalMs: 1000, bytesIn: i, bytesOut: i })
      : envelopes.create(type, 'activity', { idleForMs: 1000 + i }),
  );
}

export function makeBatch(events: unknown[], extra: Partial<EventBatch> = {}): EventBatch {
  return { batchId: randomUUID(), sentAt: new Date().toISOString(), events, ...extra };
}

export interface SealOptions {
  readonly senderId?: string;
  readonly signer?: Identity;
  readonly messageId?: string;
  readonly timestampMs?: number;
  readonly kind?: number;
}

/** Seals a payload as the device would and returns the raw HTTP body. */
export async function sealedBody(
  device: TestDevice,
  server: Identity,
  clock: FakeClock,
  payload: unknown,
  options: SealOptions = {},
): Promise<Uint8Array> {
  const frame = await sealJson({
    kind: options.kind ?? SealKind.EventBatch,
    senderId: options.senderId ?? device.id,
    messageId: options.messageId ?? randomUUID(),
    timestampMs: options.timestampMs ?? clock.now(),
    payload,
    recipientEncryptionPublicKey: server.encryptionPublicKey,
    sender: options.signer ?? device.identity,
  });
  return new TextEncoder().encode(JSON.stringify(encodeSealedBody(frame)));
}
