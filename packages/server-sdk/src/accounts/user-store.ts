import { randomUUID } from 'node:crypto';
import type { Clock, RoleGrant } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { AccountError } from './account-error.js';

/** A person's account as the API shows it. */
export interface UserRecord {
  readonly id: string;
  /** Lower-cased and trimmed. */
  readonly email: string;
  readonly disabled: boolean;
  readonly createdAt: string;
  /** Owner first, then by tenant. */
  readonly roles: readonly RoleGrant[];
}

/** Who makes a change, and on whose clock; the audit log names `actor`. */
export interface AccountChangeOptions {
  readonly clock: Clock;
  /** `user:<email>`, an admin token's actor, or `system` for the CLI. */
  readonly actor: string;
}

/**
 * The form e-mails are stored and compared in: trimmed and lower-cased, so `Ana@X.org` and
 * `ana@x.org` are one account.
 *
 * @param email - as typed.
 * @returns the stored form.
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The tenant an account change is audited under: the one tenant its roles concern, else null
 * (server-wide), so a tenant's admins see the changes to their tenant in its audit log.
 *
 * @internal
 */
export function auditTenantOf(roles: readonly RoleGrant[]): string | null {
  const tenants = new Set(roles.map((grant) => (grant.role === 'owner' ? null : grant.tenant)));
  const [only] = tenants;
  return tenants.size === 1 && only !== undefined ? only : null;
}

function sortRoles(roles: readonly RoleGrant[]): RoleGrant[] {
  const key = (grant: RoleGrant) => (grant.role === 'owner' ? '' : grant.tenant);
  return [...roles].sort((a, b) => key(a).localeCompare(key(b)));
}

async function rolesOf(
  db: Kysely<FieldlineDatabase>,
  userIds: readonly string[],
): Promise<Map<string, RoleGrant[]>> {
  const byUser = new Map<string, RoleGrant[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db
    .selectFrom('user_roles')
    .select(['user_id', 'role', 'tenant_id'])
    .where('user_id', 'in', [...userIds])
    .execute();
  for (const row of rows) {
    const grant: RoleGrant =
      row.role === 'owner' || row.tenant_id === null
        ? { role: 'owner' }
        : { role: row.role, tenant: row.tenant_id };
    byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), grant]);
  }
  for (const [id, grants] of byUser) byUser.set(id, sortRoles(grants));
  return byUser;
}

function toRecord(
  row: { id: string; email: string; disabled: boolean; created_at: Date },
  roles: readonly RoleGrant[],
): UserRecord {
  return {
    id: row.id,
    email: row.email,
    disabled: row.disabled,
    createdAt: new Date(row.created_at).toISOString(),
    roles,
  };
}

/**
 * Refuses a role list that names one tenant twice (one role per tenant) or mixes `owner`
 * with itself.
 *
 * @internal
 */
export function duplicateRoleScope(roles: readonly RoleGrant[]): string | undefined {
  const seen = new Set<string>();
  for (const grant of roles) {
    const scope = grant.role === 'owner' ? '(owner)' : grant.tenant;
    if (seen.has(scope)) return scope;
    seen.add(scope);
  }
  return undefined;
}

async function insertRoles(
  trx: Kysely<FieldlineDatabase>,
  userId: string,
  roles: readonly RoleGrant[],
  at: Date,
): Promise<void> {
  if (roles.length === 0) return;
  const tenants = [...new Set(roles.flatMap((g) => (g.role === 'owner' ? [] : [g.tenant])))];
  if (tenants.length > 0) {
    await trx
      .insertInto('tenants')
      .values(tenants.map((id) => ({ id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  await trx
    .insertInto('user_roles')
    .values(
      roles.map((grant) => ({
        user_id: userId,
        role: grant.role,
        tenant_id: grant.role === 'owner' ? null : grant.tenant,
        created_at: at,
      })),
    )
    .execute();
}

/**
 * Serializes changes that could remove the last owner, then refuses one that did: the check
 * runs after the change, inside its transaction, so two concurrent demotions cannot both pass.
 */
async function assertOwnerRemains(trx: Kysely<FieldlineDatabase>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${sql.lit(OWNER_LOCK_KEY)})`.execute(trx);
  const row = await trx
    .selectFrom('user_roles')
    .innerJoin('users', 'users.id', 'user_roles.user_id')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('user_roles.role', '=', 'owner')
    .where('users.disabled', '=', false)
    .executeTakeFirstOrThrow();
  if (Number(row.count) === 0) {
    throw new AccountError(
      'last_owner',
      'This would leave no enabled owner; make another person owner first.',
    );
  }
}

/** Advisory lock key that serializes owner changes ("FLOW" in ASCII). */
const OWNER_LOCK_KEY = 0x464c4f57;

async function wasEnabledOwner(trx: Kysely<FieldlineDatabase>, userId: string): Promise<boolean> {
  await sql`select pg_advisory_xact_lock(${sql.lit(OWNER_LOCK_KEY)})`.execute(trx);
  const row = await trx
    .selectFrom('user_roles')
    .innerJoin('users', 'users.id', 'user_roles.user_id')
    .select('users.id')
    .where('user_roles.user_id', '=', userId)
    .where('user_roles.role', '=', 'owner')
    .where('users.disabled', '=', false)
    .executeTakeFirst();
  return row !== undefined;
}

/** What {@link createUser} needs. */
export interface NewUser {
  readonly email: string;
  /** From `hashPassword`. */
  readonly passwordHash: string;
  readonly roles: readonly RoleGrant[];
}

/**
 * Creates an account with its roles, audited `user.created` in the same transaction (details:
 * e-mail and roles, never the hash). Tenants named in the roles are created if new.
 *
 * @param db - the database, or the caller's transaction.
 * @param user - e-mail (normalized here), password hash and roles.
 * @param options - clock and actor.
 * @returns the account.
 * @throws {@link AccountError} `email_taken` when an account has this e-mail (whatever its case).
 * @example
 * ```ts
 * await createUser(db, { email, passwordHash: await hashPassword(pw), roles: [{ role: 'owner' }] },
 *   { clock, actor: 'system' });
 * ```
 */
export async function createUser(
  db: Kysely<FieldlineDatabase>,
  user: NewUser,
  options: AccountChangeOptions & { readonly details?: Readonly<Record<string, unknown>> },
): Promise<UserRecord> {
  const email = normalizeEmail(user.email);
  const id = `usr_${randomUUID()}`;
  const at = new Date(options.clock.now());
  const roles = sortRoles(user.roles);
  const run = async (trx: Kysely<FieldlineDatabase>) => {
    const inserted = await trx
      .insertInto('users')
      .values({ id, email, password_hash: user.passwordHash, created_at: at, updated_at: at })
      .onConflict((oc) => oc.doNothing())
      .returning(['id', 'email', 'disabled', 'created_at'])
      .executeTakeFirst();
    if (inserted === undefined) {
      throw new AccountError('email_taken', `An account with the e-mail ${email} exists already.`);
    }
    await insertRoles(trx, id, roles, at);
    await appendAudit(
      trx,
      {
        tenantId: auditTenantOf(roles),
        actor: options.actor,
        action: 'user.created',
        subject: `user:${id}`,
        details: { email, roles, ...options.details },
      },
      { clock: options.clock },
    );
    return toRecord(inserted, roles);
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

/**
 * Reads one account.
 *
 * @param db - the database.
 * @param id - the account's id.
 * @returns it, or undefined.
 */
export async function getUser(
  db: Kysely<FieldlineDatabase>,
  id: string,
): Promise<UserRecord | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'email', 'disabled', 'created_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return toRecord(row, (await rolesOf(db, [row.id])).get(row.id) ?? []);
}

/**
 * Lists accounts by e-mail: every one (`tenant` null), or those with a role in `tenant`, each
 * then showing only its roles there.
 *
 * @param db - the database.
 * @param tenant - the tenant, or null for all.
 * @returns the accounts.
 */
export async function listUsers(
  db: Kysely<FieldlineDatabase>,
  tenant: string | null,
): Promise<UserRecord[]> {
  let query = db
    .selectFrom('users')
    .select(['id', 'email', 'disabled', 'created_at'])
    .orderBy('email');
  if (tenant !== null) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('user_roles')
          .select('user_roles.user_id')
          .whereRef('user_roles.user_id', '=', 'users.id')
          .where('user_roles.tenant_id', '=', tenant),
      ),
    );
  }
  const rows = await query.execute();
  const roles = await rolesOf(
    db,
    rows.map((row) => row.id),
  );
  return rows.map((row) => {
    const all = roles.get(row.id) ?? [];
    return toRecord(
      row,
      tenant === null ? all : all.filter((g) => g.role !== 'owner' && g.tenant === tenant),
    );
  });
}

/** An account as login reads it. */
export interface LoginUser {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly disabled: boolean;
}

/**
 * Finds the account an e-mail logs into.
 *
 * @param db - the database.
 * @param email - as typed (normalized here).
 * @returns it with its password hash, or undefined.
 */
export async function findLoginUser(
  db: Kysely<FieldlineDatabase>,
  email: string,
): Promise<LoginUser | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'email', 'password_hash', 'disabled'])
    .where(sql<string>`lower(email)`, '=', normalizeEmail(email))
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { id: row.id, email: row.email, passwordHash: row.password_hash, disabled: row.disabled };
}

/**
 * How many accounts exist (the first-run setup is open while there are none).
 *
 * @param db - the database.
 * @returns the count.
 */
export async function countUsers(db: Kysely<FieldlineDatabase>): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** A change to an account (see {@link updateUser}). */
export interface UserChange {
  /**
   * The roles replacing those in `withinTenant` (or all of them when it is null).
   */
  readonly roles?: readonly RoleGrant[];
  readonly disabled?: boolean;
  /** A new hash from `hashPassword`. */
  readonly passwordHash?: string;
}

/**
 * Changes an account: replaces roles (all of them, or only those in `withinTenant`), disables
 * or enables it, sets a new password hash. Any of these ends the account's sessions, so a
 * demoted or disabled person is out at once. Each change is audited (`user.roles_changed`,
 * `user.disabled`, `user.enabled`, `user.password_reset`) in one transaction with it.
 *
 * @param db - the database.
 * @param id - the account.
 * @param change - what to change.
 * @param options - clock, actor, and the tenant the actor manages (null: all).
 * @returns the account after the change.
 * @throws {@link AccountError} `no_such_user`; `last_owner` when no enabled owner would remain.
 */
export async function updateUser(
  db: Kysely<FieldlineDatabase>,
  id: string,
  change: UserChange,
  options: AccountChangeOptions & { readonly withinTenant: string | null },
): Promise<UserRecord> {
  const at = new Date(options.clock.now());
  await db.transaction().execute(async (trx) => {
    const ownerBefore = await wasEnabledOwner(trx, id);
    const existing = await trx
      .selectFrom('users')
      .select(['id', 'email', 'disabled'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (existing === undefined) throw new AccountError('no_such_user', 'No such account.');
    const audit = (action: string, details: Record<string, unknown>, tenant: string | null) =>
      appendAudit(
        trx,
        {
          tenantId: tenant,
          actor: options.actor,
          action,
          subject: `user:${id}`,
          details: { email: existing.email, ...details },
        },
        { clock: options.clock },
      );
    if (change.roles !== undefined) {
      const before = (await rolesOf(trx, [id])).get(id) ?? [];
      let removal = trx.deleteFrom('user_roles').where('user_id', '=', id);
      if (options.withinTenant !== null) {
        removal = removal.where('tenant_id', '=', options.withinTenant);
      }
      await removal.execute();
      await insertRoles(trx, id, change.roles, at);
      const after = (await rolesOf(trx, [id])).get(id) ?? [];
      await audit(
        'user.roles_changed',
        { before, after },
        options.withinTenant ?? auditTenantOf([...before, ...after]),
      );
    }
    if (change.disabled !== undefined && change.disabled !== existing.disabled) {
      await trx
        .updateTable('users')
        .set({ disabled: change.disabled, updated_at: at })
        .where('id', '=', id)
        .execute();
      await audit(change.disabled ? 'user.disabled' : 'user.enabled', {}, options.withinTenant);
    }
    if (change.passwordHash !== undefined) {
      await trx
        .updateTable('users')
        .set({ password_hash: change.passwordHash, updated_at: at })
        .where('id', '=', id)
        .execute();
      await audit('user.password_reset', {}, options.withinTenant);
    }
    await trx.deleteFrom('user_sessions').where('user_id', '=', id).execute();
    if (ownerBefore) await assertOwnerRemains(trx);
  });
  const updated = await getUser(db, id);
  if (updated === undefined) throw new AccountError('no_such_user', 'No such account.');
  return updated;
}

/**
 * Removes an account's roles in `withinTenant`, and the account itself when it then has none
 * (or at once when `withinTenant` is null). Audited `user.roles_changed` or `user.deleted`.
 *
 * @param db - the database.
 * @param id - the account.
 * @param options - clock, actor, and the tenant the actor manages (null: all).
 * @returns whether the account itself was deleted.
 * @throws {@link AccountError} `no_such_user`; `last_owner` when no enabled owner would remain.
 */
export async function deleteUser(
  db: Kysely<FieldlineDatabase>,
  id: string,
  options: AccountChangeOptions & { readonly withinTenant: string | null },
): Promise<{ readonly deleted: boolean }> {
  return db.transaction().execute(async (trx) => {
    const ownerBefore = await wasEnabledOwner(trx, id);
    const existing = await trx
      .selectFrom('users')
      .select(['id', 'email'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (existing === undefined) throw new AccountError('no_such_user', 'No such account.');
    const before = (await rolesOf(trx, [id])).get(id) ?? [];
    let deleted = options.withinTenant === null;
    if (options.withinTenant !== null) {
      await trx
        .deleteFrom('user_roles')
        .where('user_id', '=', id)
        .where('tenant_id', '=', options.withinTenant)
        .execute();
      await trx.deleteFrom('user_sessions').where('user_id', '=', id).execute();
      const left = (await rolesOf(trx, [id])).get(id) ?? [];
      deleted = left.length === 0;
      if (!deleted) {
        await appendAudit(
          trx,
          {
            tenantId: options.withinTenant,
            actor: options.actor,
            action: 'user.roles_changed',
            subject: `user:${id}`,
            details: { email: existing.email, before, after: left },
          },
          { clock: options.clock },
        );
      }
    }
    if (deleted) {
      await trx.deleteFrom('users').where('id', '=', id).execute();
      await appendAudit(
        trx,
        {
          tenantId: options.withinTenant ?? auditTenantOf(before),
          actor: options.actor,
          action: 'user.deleted',
          subject: `user:${id}`,
          details: { email: existing.email, roles: before },
        },
        { clock: options.clock },
      );
    }
    if (ownerBefore) await assertOwnerRemains(trx);
    return { deleted };
  });
}

/**
 * Sets a person's own new password and ends their other sessions (a thief holding one is
 * out), keeping the one they changed it from. Audited `auth.password_changed`.
 *
 * @param db - the database.
 * @param userId - the account.
 * @param passwordHash - from `hashPassword`.
 * @param options - clock, actor, and the session to keep.
 * @returns how many other sessions were ended.
 */
export async function changeOwnPassword(
  db: Kysely<FieldlineDatabase>,
  userId: string,
  passwordHash: string,
  options: AccountChangeOptions & { readonly keepSessionId: string },
): Promise<{ readonly endedSessions: number }> {
  const at = new Date(options.clock.now());
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: at })
      .where('id', '=', userId)
      .execute();
    const ended = await trx
      .deleteFrom('user_sessions')
      .where('user_id', '=', userId)
      .where('id', '!=', options.keepSessionId)
      .executeTakeFirst();
    const endedSessions = Number(ended.numDeletedRows);
    await appendAudit(
      trx,
      {
        tenantId: null,
        actor: options.actor,
        action: 'auth.password_changed',
        subject: `user:${userId}`,
        details: { endedSessions },
      },
      { clock: options.clock },
    );
    return { endedSessions };
  });
}

/**
 * Replaces a stored hash with a stronger one after a successful login (not audited: the
 * password is the same).
 *
 * @internal
 */
export async function upgradePasswordHash(
  db: Kysely<FieldlineDatabase>,
  userId: string,
  oldHash: string,
  newHash: string,
): Promise<void> {
  // Only if unchanged meanwhile: a password set in between wins.
  await db
    .updateTable('users')
    .set({ password_hash: newHash })
    .where('id', '=', userId)
    .where('password_hash', '=', oldHash)
    .execute();
}
