import type { Clock, Identity, ReplayGuard } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { AdminEventHub } from '../admin-stream/admin-event-hub.js';
import type { AuditCheckpointer } from '../audit/audit-checkpointer.js';
import type { AdminAuthenticator } from '../auth/admin-auth.js';
import type { ClusterBus } from '../cluster/cluster-bus.js';
import type { CommandOutbox } from '../commands/command-outbox.js';
import type { ConsentServiceOptions } from '../consent/consent-service-options.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { LastSeenTracker } from '../devices/last-seen.js';
import type { ServerKeyRing } from '../sealing/server-key-ring.js';

/** What every route of the reference API shares. */
export interface AppContext {
  readonly db: Kysely<FieldlineDatabase>;
  readonly clock: Clock;
  readonly serverIdentity: Identity;
  /** The current identity, earlier ones in their overlap window, and the rotation chain. */
  readonly serverKeys: ServerKeyRing;
  readonly authenticateAdmin: AdminAuthenticator;
  /** Shared by every instance (database-backed), so a replayed frame is caught anywhere. */
  readonly replayGuard: ReplayGuard;
  readonly lastSeen: LastSeenTracker;
  /** Instance-to-instance messages: new commands, sessions, admin stream events. */
  readonly bus: ClusterBus;
  /** Admin stream events (§4.8) of every instance; publish here, and `GET /v1/admin/stream` reads. */
  readonly adminEvents: AdminEventHub;
  /** The durable command outbox (docs/protocol.md §4.7). */
  readonly commands: CommandOutbox;
  /** Controller and purpose texts for consent records. */
  readonly consentOptions: ConsentServiceOptions;
  /** Signed checkpoints of the audit chain's head, which audit verification compares with. */
  readonly auditCheckpoints?: AuditCheckpointer;
}
