import { createHash } from 'node:crypto';
import { type Clock, InvalidArgumentError } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { normalizeEmail } from './user-store.js';

/** How many failed logins are allowed before `POST /v1/auth/login` answers 429. */
export interface LoginRateLimit {
  /**
   * Failed logins per e-mail (whether or not it has an account) within the window.
   * @default 5
   */
  readonly maxFailuresPerEmail?: number;
  /**
   * Failed logins per client address (an IPv6 /64 counts as one) within the window. Not
   * applied when the address is `unknown` (an adapter that does not know it).
   * @default 20
   */
  readonly maxFailuresPerSource?: number;
  /**
   * The sliding window, in milliseconds.
   * @default 900_000 (15 min)
   */
  readonly windowMs?: number;
}

/** The defaults of {@link LoginRateLimit}. */
export const DEFAULT_LOGIN_RATE_LIMIT: Required<LoginRateLimit> = {
  maxFailuresPerEmail: 5,
  maxFailuresPerSource: 20,
  windowMs: 15 * 60 * 1000,
};

/** Whether a login may be tried now. */
export type LoginThrottleVerdict =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Whole seconds until one more attempt is allowed. */
      readonly retryAfterSeconds: number;
      /** Which limit was reached. */
      readonly limit: 'email' | 'source';
    };

/**
 * Counts failed logins in the database, so every instance sees the same counts. A check runs
 * before the password is looked at: a locked e-mail gets 429 whatever was typed, so the limit
 * cannot be used to learn the password either.
 */
export interface LoginThrottle {
  /**
   * Whether `email` may be tried from `source` now.
   *
   * @param email - as typed.
   * @param source - the client's address key.
   * @returns the verdict.
   */
  check(email: string, source: string): Promise<LoginThrottleVerdict>;
  /**
   * Counts a failed attempt (wrong password, unknown e-mail, disabled account), and forgets
   * attempts older than the window.
   *
   * @param email - as typed.
   * @param source - the client's address key.
   */
  recordFailure(email: string, source: string): Promise<void>;
  /**
   * Forgets the failures of an e-mail after it logged in (its address's count stays).
   *
   * @param email - as typed.
   */
  recordSuccess(email: string): Promise<void>;
}

/** The source key of a request whose client address is not known (see `addressSource`). */
const UNKNOWN_SOURCE = 'unknown';

function emailKey(email: string): string {
  return createHash('sha256').update(normalizeEmail(email), 'utf8').digest('hex');
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new InvalidArgumentError(`${name} must be a positive integer; got ${value}.`);
  }
  return value;
}

/**
 * Creates the database-backed login throttle (table `login_attempts`): a sliding window per
 * e-mail and per client address.
 *
 * @param db - the database.
 * @param options - clock and limits.
 * @returns the throttle.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a limit that
 *   is not a positive integer.
 * @example
 * ```ts
 * const throttle = createLoginThrottle(db, { clock, maxFailuresPerEmail: 5 });
 * ```
 */
export function createLoginThrottle(
  db: Kysely<FieldlineDatabase>,
  options: LoginRateLimit & { readonly clock: Clock },
): LoginThrottle {
  const limits = { ...DEFAULT_LOGIN_RATE_LIMIT, ...options };
  const maxEmail = positiveInteger('maxFailuresPerEmail', limits.maxFailuresPerEmail);
  const maxSource = positiveInteger('maxFailuresPerSource', limits.maxFailuresPerSource);
  const windowMs = positiveInteger('windowMs', limits.windowMs);
  const { clock } = options;

  // The max-th newest failure in the window: while there is one, the key is locked until it
  // leaves the window.
  async function lockedUntil(
    column: 'email_key' | 'source',
    key: string,
    max: number,
    now: number,
  ): Promise<number | undefined> {
    const row = await db
      .selectFrom('login_attempts')
      .select('at')
      .where(column, '=', key)
      .where('at', '>', new Date(now - windowMs))
      .orderBy('at', 'desc')
      .offset(max - 1)
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : new Date(row.at).getTime() + windowMs;
  }

  return {
    async check(email, source) {
      const now = clock.now();
      const byEmail = await lockedUntil('email_key', emailKey(email), maxEmail, now);
      // An adapter that cannot tell clients apart would lump them all under `unknown`, and one
      // guesser would lock everyone out: only the per-e-mail limit applies then.
      const bySource =
        source === UNKNOWN_SOURCE ? undefined : await lockedUntil('source', source, maxSource, now);
      const until = Math.max(byEmail ?? 0, bySource ?? 0);
      if (until <= now) return { allowed: true };
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)),
        limit: (byEmail ?? 0) >= (bySource ?? 0) ? 'email' : 'source',
      };
    },
    async recordFailure(email, source) {
      const now = clock.now();
      await db
        .insertInto('login_attempts')
        .values({ email_key: emailKey(email), source, at: new Date(now) })
        .execute();
      await db
        .deleteFrom('login_attempts')
        .where('at', '<=', new Date(now - windowMs))
        .execute();
    },
    async recordSuccess(email) {
      await db.deleteFrom('login_attempts').where('email_key', '=', emailKey(email)).execute();
    },
  };
}
