import { type Clock, InvalidArgumentError } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { FieldlineRequest } from '../http/types.js';
import { addressSource } from '../realtime/request-source.js';
import { createLoginThrottle, type LoginRateLimit, type LoginThrottle } from './login-throttle.js';
import {
  DEFAULT_PASSWORD_HASH_PARAMS,
  decoyPasswordHash,
  type PasswordHashParams,
} from './password-hash.js';
import { createSessionGate, type SessionGate } from './session-gate.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from './user-sessions.js';

/** How the app treats people's accounts (docs/accounts.md). */
export interface AccountsOptions extends SessionPolicy {
  /**
   * Failed logins allowed per e-mail and per client address before 429.
   * @default { maxFailuresPerEmail: 5, maxFailuresPerSource: 20, windowMs: 900_000 }
   */
  readonly loginRateLimit?: LoginRateLimit;
  /**
   * scrypt's cost for new password hashes; raising it upgrades hashes at each next login.
   * @default { ln: 15, r: 8, p: 1 }
   */
  readonly passwordHash?: PasswordHashParams;
  /**
   * Mark the session cookie `Secure`: always, never, or `'auto'` when the request came over
   * TLS to this process. Behind a TLS-terminating proxy, set `true`.
   * @default 'auto'
   */
  readonly secureCookies?: boolean | 'auto';
  /**
   * Origins besides the request's own `Host` that cookie requests may come from.
   * @default []
   */
  readonly trustedOrigins?: readonly string[];
  /**
   * The key login failures are counted under per client. Behind a reverse proxy, read the
   * client from the proxy's header here (every peer is the proxy otherwise).
   * @default the peer's address (its /64 for IPv6)
   */
  readonly clientSourceOf?: (request: FieldlineRequest) => string;
}

/**
 * What the account routes share: the session gate, the login throttle and the password
 * settings. `createFieldlineApp` builds one; build your own to mount `authRoutes` and
 * `userRoutes` in another app.
 */
export interface AccountServices {
  readonly db: Kysely<FieldlineDatabase>;
  readonly clock: Clock;
  readonly gate: SessionGate;
  readonly throttle: LoginThrottle;
  readonly policy: Required<SessionPolicy>;
  readonly passwordHash: Required<PasswordHashParams>;
  /** Origins besides the request's own that cookie requests may come from. */
  readonly trustedOrigins: readonly string[];
  /** A hash to verify against when no account matches (computed once, on first use). */
  decoyHash(): Promise<string>;
  sourceOf(request: FieldlineRequest): string;
}

/**
 * Builds the account services of an app.
 *
 * @param db - the database.
 * @param clock - time source (sessions, rate limits).
 * @param options - lifetimes, limits, hashing cost, cookie settings.
 * @returns the services.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a lifetime or
 *   limit that is not a positive integer.
 * @example
 * ```ts
 * const accounts = createAccountServices(db, systemClock, { idleTimeoutMs: 3_600_000 });
 * ```
 */
export function createAccountServices(
  db: Kysely<FieldlineDatabase>,
  clock: Clock,
  options: AccountsOptions = {},
): AccountServices {
  const policy: Required<SessionPolicy> = {
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_SESSION_POLICY.idleTimeoutMs,
    lifetimeMs: options.lifetimeMs ?? DEFAULT_SESSION_POLICY.lifetimeMs,
  };
  for (const [name, value] of Object.entries(policy)) {
    if (!(Number.isSafeInteger(value) && value > 0)) {
      throw new InvalidArgumentError(`${name} must be a positive integer of ms; got ${value}.`);
    }
  }
  const passwordHash = { ...DEFAULT_PASSWORD_HASH_PARAMS, ...options.passwordHash };
  let decoy: Promise<string> | undefined;
  return {
    db,
    clock,
    policy,
    passwordHash,
    trustedOrigins: options.trustedOrigins ?? [],
    gate: createSessionGate({
      db,
      clock,
      ...policy,
      ...(options.secureCookies === undefined ? {} : { secureCookies: options.secureCookies }),
      ...(options.trustedOrigins === undefined ? {} : { trustedOrigins: options.trustedOrigins }),
    }),
    throttle: createLoginThrottle(db, { clock, ...options.loginRateLimit }),
    decoyHash() {
      decoy ??= decoyPasswordHash(passwordHash);
      return decoy;
    },
    sourceOf: options.clientSourceOf ?? ((request) => addressSource(request.remoteAddress)),
  };
}
