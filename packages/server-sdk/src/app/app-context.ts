import type { Clock, Identity } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { AdminAuthenticator } from '../auth/admin-auth.js';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** What every route of the reference API shares. */
export interface AppContext {
  readonly db: Kysely<FieldlineDatabase>;
  readonly clock: Clock;
  readonly serverIdentity: Identity;
  readonly authenticateAdmin: AdminAuthenticator;
}
