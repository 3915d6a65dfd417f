import { type AccountRole, accountRoleSchema, emailSchema, tenantSchema } from '@fieldline/core';

/** `fieldline-server user create`: an account made from the command line. */
export interface UserCreateCommand {
  readonly kind: 'user-create';
  readonly dataDir: string;
  readonly email: string;
  readonly role: AccountRole;
  /** The tenant of a `tenant_admin` or `auditor`; absent for an `owner`. */
  readonly tenant?: string;
  /** `--password-stdin`: read the password from standard input; otherwise one is generated. */
  readonly passwordFromStdin: boolean;
}

/** The flags `user create` reads, as `parseArgs` gives them. */
export interface UserFlags {
  readonly email?: string | undefined;
  readonly role?: string | undefined;
  readonly tenant?: string | undefined;
  readonly 'password-stdin'?: boolean | undefined;
}

/**
 * Parses `user create --email E --role R [--tenant T] [--password-stdin]`. Pure.
 *
 * @param rest - the positionals after `user`.
 * @param flags - the parsed flags.
 * @param dataDir - the data directory.
 * @returns the command, or a usage error's message.
 */
export function parseUserArgs(
  rest: readonly string[],
  flags: UserFlags,
  dataDir: string,
): UserCreateCommand | { readonly kind: 'usage-error'; readonly message: string } {
  const usage = (message: string) => ({ kind: 'usage-error' as const, message });
  if (rest[0] !== 'create' || rest.length !== 1) {
    return usage(
      'The user command is "user create --email <e-mail> --role <role> [--tenant <t>]".',
    );
  }
  if (flags.email === undefined || !emailSchema.safeParse(flags.email).success) {
    return usage(`--email must be an e-mail address; got "${flags.email ?? ''}".`);
  }
  const role = accountRoleSchema.safeParse(flags.role);
  if (!role.success) {
    return usage(`--role must be owner, tenant_admin or auditor; got "${flags.role ?? ''}".`);
  }
  if (role.data === 'owner' && flags.tenant !== undefined) {
    return usage('An owner has every tenant: leave --tenant out.');
  }
  if (role.data !== 'owner' && !tenantSchema.safeParse(flags.tenant).success) {
    return usage(
      `--role ${role.data} needs --tenant <lowercase tenant slug>; got "${flags.tenant ?? ''}".`,
    );
  }
  return {
    kind: 'user-create',
    dataDir,
    email: flags.email,
    role: role.data,
    ...(role.data === 'owner' || flags.tenant === undefined ? {} : { tenant: flags.tenant }),
    passwordFromStdin: flags['password-stdin'] === true,
  };
}
