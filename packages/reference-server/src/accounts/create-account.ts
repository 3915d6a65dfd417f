import { randomBytes } from 'node:crypto';
import { type AccountRole, type Clock, systemClock } from '@fieldline/core';
import { createUser, type FieldlineDb, hashPassword, type UserRecord } from '@fieldline/server-sdk';

/** Options of {@link createAccount}. */
export interface CreateAccountOptions {
  readonly email: string;
  readonly role: AccountRole;
  /** The tenant of a `tenant_admin` or `auditor` (created if new); none for an `owner`. */
  readonly tenant?: string;
  /** The password; when absent a random one (24 characters, 144 bits) is generated. */
  readonly password?: string;
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
}

/**
 * Creates a person's account from the command line (`fieldline-server user create`), audited
 * `user.created` with the actor `system`.
 *
 * @param database - the open, migrated database.
 * @param options - e-mail, role, tenant, password.
 * @returns the account, and the generated password when none was given (show it once).
 * @throws `AccountError` `email_taken` or `password_too_short` (from server-sdk).
 * @example
 * ```ts
 * const { generatedPassword } = await createAccount(database, { email, role: 'owner' });
 * ```
 */
export async function createAccount(
  database: FieldlineDb,
  options: CreateAccountOptions,
): Promise<{ readonly user: UserRecord; readonly generatedPassword?: string }> {
  const generated =
    options.password === undefined ? randomBytes(18).toString('base64url') : undefined;
  const passwordHash = await hashPassword(options.password ?? generated ?? '');
  const user = await createUser(
    database.db,
    {
      email: options.email,
      passwordHash,
      roles: [
        options.role === 'owner'
          ? { role: 'owner' }
          : { role: options.role, tenant: options.tenant ?? 'default' },
      ],
    },
    { clock: options.clock ?? systemClock, actor: 'system', details: { via: 'cli' } },
  );
  return generated === undefined ? { user } : { user, generatedPassword: generated };
}
