// The core demo: what an agent and a server do with @fieldline/core, in one
// process and without a network. Run it from the repository root, once the packages are built
// (`npm run build`): `node examples/core-demo/index.mjs`.
import { randomUUID } from 'node:crypto';
import {
  canCollect,
  createBoundedQueue,
  createConsentMachine,
  createEnvelopeFactory,
  createEventRegistry,
  createMemoryReplayGuard,
  generateIdentity,
  openJson,
  SealKind,
  sealJson,
  systemClock,
} from '@fieldline/core';

const log = (step, message) => console.log(`${step.padEnd(8)} ${message}`);

// Both sides own an identity: Ed25519 to sign, X25519 to receive sealed frames.
const device = await generateIdentity();
const server = await generateIdentity();
log('keys', 'device and server identities generated (Ed25519 + X25519)');

// The agent keeps the device's consent; nothing is collected before a grant.
const consent = createConsentMachine({ clock: systemClock });
consent.dispatch({ type: 'policy_published', version: 1 });
log('consent', `policy v1 published → ${consent.state.status}`);
const granted = consent.dispatch({
  type: 'grant',
  policyVersion: 1,
  scopes: ['activity'],
  at: systemClock.now(),
});
log(
  'consent',
  `user grants "activity" → ${granted.ok ? consent.state.status : granted.error.code}`,
);

// track(): validate the data, check consent for the type's scope, stamp the envelope, buffer it.
const registry = createEventRegistry();
const envelopes = createEnvelopeFactory();
const queue = createBoundedQueue({ maxItems: 1000 });
const refused = {};
function track(type, data) {
  const eventType = registry.get(type);
  const valid = registry.validateData(type, data);
  if (eventType === undefined || !valid.ok) {
    refused.invalid = (refused.invalid ?? 0) + 1;
    return `invalid (${valid.ok ? 'unknown type' : valid.error.issues.map((i) => i.path).join(', ')})`;
  }
  if (!consent.canCollect(eventType.scope)) {
    refused.no_consent = (refused.no_consent ?? 0) + 1;
    return `refused: no consent for "${eventType.scope}"`;
  }
  queue.offer(envelopes.create(type, eventType.scope, valid.value));
  return 'queued';
}
log(
  'track',
  `activity.app.launched → ${track('activity.app.launched', { app: 'org.libreoffice.calc', pid: 4242 })}`,
);
log(
  'track',
  `activity.window.focused → ${track('activity.window.focused', { app: 'org.libreoffice.calc' })}`,
);
log(
  'track',
  `activity.network.volume → ${track('activity.network.volume', { intervalMs: 60000, bytesIn: 1200, bytesOut: 800 })}`,
);
log('track', `activity.system.idle → ${track('activity.system.idle', { idleThresholdMs: -5 })}`);

// flush: take a batch, seal it to the server's key and sign it with the device's key.
const batch = queue.takeBatch({ maxEvents: 500, maxBytes: 512 * 1024 });
const frame = await sealJson({
  kind: SealKind.EventBatch,
  senderId: 'dev_demo',
  messageId: randomUUID(),
  timestampMs: systemClock.now(),
  payload: {
    batchId: randomUUID(),
    sentAt: new Date().toISOString(),
    events: batch.items,
    drops: refused,
  },
  recipientEncryptionPublicKey: server.encryptionPublicKey,
  sender: device,
});
log(
  'flush',
  `${batch.items.length} events sealed and signed into a ${frame.byteLength}-byte frame`,
);

// The server opens the frame (signature, clock skew, replay, decryption) and validates each event.
const replayGuard = createMemoryReplayGuard({ clock: systemClock });
const openOptions = {
  recipient: server,
  senderSigningPublicKey: device.signingPublicKey,
  clock: systemClock,
  replayGuard,
};
const opened = await openJson(frame, openOptions);
if (!opened.ok) throw new Error(`could not open the frame: ${opened.error.code}`);
for (const event of opened.value.payload.events) {
  const result = registry.validate(event);
  const allowed =
    result.ok && canCollect(consent.state, result.value.scope, Date.parse(result.value.occurredAt));
  log(
    'server',
    `${event.type} seq ${event.seq}: ${result.ok ? (allowed ? 'accepted' : 'consent_required') : result.error.code}`,
  );
}
log('server', `agent reported drops: ${JSON.stringify(opened.value.payload.drops)}`);
const replay = await openJson(frame, openOptions);
log('server', `the same frame again → ${replay.ok ? 'accepted?!' : replay.error.code}`);

// Withdrawal stops collection at once.
consent.dispatch({ type: 'withdraw', at: systemClock.now() });
log('consent', `user withdraws → ${consent.state.status}`);
log(
  'track',
  `activity.app.closed → ${track('activity.app.closed', { app: 'org.libreoffice.calc' })}`,
);
