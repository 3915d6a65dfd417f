import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '@fieldline/core';
import { AccountError } from './account-error.js';

/**
 * The cost of scrypt (RFC 7914): `N = 2^ln` blocks of `128 · r` bytes each (memory), `p`
 * independent lanes (time).
 */
export interface PasswordHashParams {
  /**
   * log2 of scrypt's N; memory is `128 · 2^ln · r` bytes (32 MiB at the default).
   * @default 15
   */
  readonly ln?: number;
  /**
   * Block size.
   * @default 8
   */
  readonly r?: number;
  /**
   * Parallelism.
   * @default 1
   */
  readonly p?: number;
}

/** The parameters new hashes get; raise them and old hashes are upgraded at the next login. */
export const DEFAULT_PASSWORD_HASH_PARAMS: Required<PasswordHashParams> = { ln: 15, r: 8, p: 1 };

/** Lowest `ln` new hashes may use (N = 2^15, the floor OWASP gives for scrypt). */
const MIN_LN = 15;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** A stored hash, read back. */
export interface ParsedPasswordHash {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

// PHC string format: $scrypt$ln=15,r=8,p=1$<salt>$<hash>, base64 without padding.
const FORMAT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/;

/**
 * Reads a stored password hash. Its parameters travel with it, so they can be raised for new
 * hashes while old ones still verify.
 *
 * @param encoded - `$scrypt$ln=<n>,r=<n>,p=<n>$<salt>$<hash>` (PHC string format, base64).
 * @returns the parameters, salt and hash.
 * @throws {@link AccountError} `invalid_password_hash` when it is not such a string, or its
 *   parameters are out of bounds (ln 1–24, r 1–32, p 1–16, salt and hash of 16 bytes or more).
 * @example
 * ```ts
 * parsePasswordHash(stored).ln; // 15
 * ```
 */
export function parsePasswordHash(encoded: string): ParsedPasswordHash {
  const match = FORMAT.exec(encoded);
  const invalid = () =>
    new AccountError(
      'invalid_password_hash',
      'The stored password hash is not a scrypt PHC string.',
    );
  if (match === null) throw invalid();
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (!(ln >= 1 && ln <= 24 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) throw invalid();
  const salt = Buffer.from(match[4] ?? '', 'base64');
  const hash = Buffer.from(match[5] ?? '', 'base64');
  if (salt.length < 16 || hash.length < 16) throw invalid();
  return { ln, r, p, salt, hash };
}

function resolveParams(params: PasswordHashParams): Required<PasswordHashParams> {
  const resolved = { ...DEFAULT_PASSWORD_HASH_PARAMS, ...params };
  const { ln, r, p } = resolved;
  if (!(Number.isInteger(ln) && ln >= MIN_LN && ln <= 24)) {
    throw new InvalidArgumentError(`ln must be an integer from ${MIN_LN} to 24; got ${ln}.`);
  }
  if (!(Number.isInteger(r) && r >= 1 && r <= 32 && Number.isInteger(p) && p >= 1 && p <= 16)) {
    throw new InvalidArgumentError(`r must be 1–32 and p 1–16; got r=${r}, p=${p}.`);
  }
  return resolved;
}

function derive(
  password: string,
  salt: Buffer,
  keyBytes: number,
  params: Required<PasswordHashParams>,
): Promise<Buffer> {
  const N = 2 ** params.ln;
  // Node refuses above `maxmem` (32 MiB by default, just under what N=2^15, r=8 needs).
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    maxmem: 128 * params.r * (N + params.p) + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

function checkLength(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw new AccountError(
      'password_too_short',
      `A password must be at least ${PASSWORD_MIN_LENGTH} characters; a passphrase of a few words is easy to remember.`,
      { details: { minLength: PASSWORD_MIN_LENGTH } },
    );
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    throw new AccountError(
      'password_too_long',
      `A password may be at most ${PASSWORD_MAX_LENGTH} characters.`,
      { details: { maxLength: PASSWORD_MAX_LENGTH } },
    );
  }
}

/**
 * Hashes a new password with scrypt (memory-hard) and a random 16-byte salt, on libuv's thread
 * pool (the event loop is not blocked). The password is NFC-normalized first, so the same
 * characters typed on different systems match.
 *
 * @param password - at least `PASSWORD_MIN_LENGTH` (12) characters.
 * @param params - scrypt's cost; `ln` at least 15.
 * @returns the PHC string to store: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`.
 * @throws {@link AccountError} `password_too_short` or `password_too_long`;
 *   {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for parameters out of
 *   bounds.
 * @example
 * ```ts
 * const stored = await hashPassword('correct horse battery staple');
 * ```
 */
export async function hashPassword(
  password: string,
  params: PasswordHashParams = {},
): Promise<string> {
  checkLength(password);
  return hashUnchecked(password, resolveParams(params));
}

async function hashUnchecked(
  password: string,
  params: Required<PasswordHashParams>,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Checks a password against a stored hash, with the hash's own parameters, comparing in
 * constant time.
 *
 * @param password - what the person typed (any length up to `PASSWORD_MAX_LENGTH`).
 * @param encoded - the stored PHC string.
 * @returns whether it matches.
 * @throws {@link AccountError} `invalid_password_hash` when the stored string is not one.
 * @example
 * ```ts
 * if (await verifyPassword(typed, user.password_hash)) { ... }
 * ```
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  if (password.length > PASSWORD_MAX_LENGTH) return false;
  const key = await derive(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(key, parsed.hash);
}

/**
 * Whether a stored hash is weaker than `params` (so it should be replaced after the next
 * successful login).
 *
 * @param encoded - the stored PHC string.
 * @param params - the parameters new hashes get.
 * @returns true when any of ln, r, p is lower.
 */
export function needsRehash(encoded: string, params: PasswordHashParams = {}): boolean {
  const wanted = resolveParams(params);
  const stored = parsePasswordHash(encoded);
  return stored.ln < wanted.ln || stored.r < wanted.r || stored.p < wanted.p;
}

/**
 * A hash of a random password with `params`, to verify against when no account matches: the
 * answer then takes as long as for a wrong password, so timing does not tell which e-mails
 * have accounts.
 *
 * @param params - the parameters real hashes get.
 * @returns the PHC string.
 */
export function decoyPasswordHash(params: PasswordHashParams = {}): Promise<string> {
  return hashUnchecked(randomBytes(24).toString('base64'), resolveParams(params));
}
