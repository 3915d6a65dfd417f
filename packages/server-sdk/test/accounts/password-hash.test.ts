import { scryptSync } from 'node:crypto';
import { isInvalidArgumentError } from '@fieldline/core';
import { describe, expect, it } from 'vitest';
import { isAccountError } from '../../src/accounts/account-error.js';
import {
  decoyPasswordHash,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
} from '../../src/accounts/password-hash.js';

const PASSWORD = 'correct horse battery staple';

describe('password hashing', () => {
  it('round-trips: the right password verifies, any other does not', async () => {
    const stored = await hashPassword(PASSWORD);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    expect(await verifyPassword(`${PASSWORD} `, stored)).toBe(false);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('x'.repeat(5000), stored)).toBe(false);
  });

  it('stores a self-describing scrypt string with N=2^15, r=8, p=1 and a fresh 16-byte salt', async () => {
    const first = await hashPassword(PASSWORD);
    const second = await hashPassword(PASSWORD);
    expect(first).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(first).not.toBe(second);
    const parsed = parsePasswordHash(first);
    expect([parsed.ln, parsed.r, parsed.p, parsed.salt.length, parsed.hash.length]).toEqual([
      15, 8, 1, 16, 32,
    ]);
    // The hash is plain RFC 7914 scrypt over the password: anyone can check it with the params.
    const expected = scryptSync(PASSWORD, parsed.salt, 32, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    expect(parsed.hash.equals(expected)).toBe(true);
  });

  it('verifies with the params stored in the hash, so raising them keeps old hashes valid', async () => {
    const stronger = await hashPassword(PASSWORD, { ln: 16 });
    expect(stronger).toMatch(/^\$scrypt\$ln=16,r=8,p=1\$/);
    const older = await hashPassword(PASSWORD);
    expect(await verifyPassword(PASSWORD, stronger)).toBe(true);
    expect(needsRehash(older, { ln: 16 })).toBe(true);
    expect(needsRehash(stronger, { ln: 16 })).toBe(false);
    expect(needsRehash(older)).toBe(false);
  });

  it('normalizes to NFC, so the same characters typed two ways match', async () => {
    const composed = 'caf\u00e9 au lait, s’il vous plaît';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
  });

  it('refuses a password under 12 characters with a typed error, and weak parameters', async () => {
    const short = await hashPassword('eleven-char').catch((error: unknown) => error);
    expect(isAccountError(short) && short.code).toBe('password_too_short');
    expect(isAccountError(short) && short.details).toEqual({ minLength: 12 });
    const long = await hashPassword('x'.repeat(1025)).catch((error: unknown) => error);
    expect(isAccountError(long) && long.code).toBe('password_too_long');
    const weak = await hashPassword(PASSWORD, { ln: 14 }).catch((error: unknown) => error);
    expect(isInvalidArgumentError(weak)).toBe(true);
  });

  it('refuses malformed stored hashes', async () => {
    for (const bad of [
      '',
      'plain',
      '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA',
      '$scrypt$ln=99,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA',
      '$argon2id$v=19$m=65536,t=3,p=4$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA',
    ]) {
      const error = await verifyPassword(PASSWORD, bad).catch((caught: unknown) => caught);
      expect(isAccountError(error) && error.code, bad).toBe('invalid_password_hash');
    }
  });

  it('makes decoy hashes that verify nothing anyone types', async () => {
    const decoy = await decoyPasswordHash();
    expect(parsePasswordHash(decoy).ln).toBe(15);
    expect(await verifyPassword(PASSWORD, decoy)).toBe(false);
  });
});
