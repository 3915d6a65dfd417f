// The login throttle against the real database, on a fake clock: a sliding window per e-mail
// and per address, the wait it announces, and no per-address limit for unknown addresses.
import { createFakeClock } from '@fieldline/core/testing';
import { expect, it } from 'vitest';
import { createLoginThrottle } from '../../src/accounts/login-throttle.js';
import { describeEachDatabase } from '../support/test-databases.js';

const MINUTE = 60_000;

describeEachDatabase('login throttle', (current) => {
  it('slides its window: the wait is until the oldest counted failure leaves it', async () => {
    const clock = createFakeClock({ nowMs: Date.parse('2026-05-01T00:00:00Z') });
    const throttle = createLoginThrottle(current().db, {
      clock,
      maxFailuresPerEmail: 3,
      windowMs: 10 * MINUTE,
    });
    for (let index = 0; index < 3; index++) {
      expect(await throttle.check('Ana@Example.org', '192.0.2.1')).toEqual({ allowed: true });
      await throttle.recordFailure('ana@example.org', `192.0.2.${index}`);
      clock.advance(MINUTE);
    }
    // Case and address do not matter to the per-e-mail count.
    expect(await throttle.check('ANA@example.org', '198.51.100.9')).toEqual({
      allowed: false,
      retryAfterSeconds: 7 * 60,
      limit: 'email',
    });
    clock.advance(7 * MINUTE);
    expect(await throttle.check('ana@example.org', '198.51.100.9')).toEqual({ allowed: true });
    await throttle.recordFailure('ana@example.org', '198.51.100.9');
    // Two failures are still in the window (at 1 and 2 min), the third just made: locked until
    // the one at 1 min leaves.
    const verdict = await throttle.check('ana@example.org', '198.51.100.9');
    expect(verdict).toEqual({ allowed: false, retryAfterSeconds: 60, limit: 'email' });
    await throttle.recordSuccess('ana@example.org');
    expect(await throttle.check('ana@example.org', '198.51.100.9')).toEqual({ allowed: true });
  });

  it('counts per address across e-mails, except when the address is unknown', async () => {
    const clock = createFakeClock({ nowMs: Date.parse('2026-06-01T00:00:00Z') });
    const throttle = createLoginThrottle(current().db, {
      clock,
      maxFailuresPerSource: 2,
      windowMs: 10 * MINUTE,
    });
    for (const email of ['a@example.org', 'b@example.org', 'c@example.org']) {
      await throttle.recordFailure(email, '203.0.113.5');
      await throttle.recordFailure(email, 'unknown');
    }
    expect(await throttle.check('d@example.org', '203.0.113.5')).toMatchObject({
      allowed: false,
      limit: 'source',
      retryAfterSeconds: 10 * 60,
    });
    expect(await throttle.check('d@example.org', 'unknown')).toEqual({ allowed: true });
    expect(await throttle.check('d@example.org', '203.0.113.6')).toEqual({ allowed: true });
    // Failures older than the window are forgotten, on the next one recorded.
    clock.advance(10 * MINUTE);
    await throttle.recordFailure('e@example.org', '203.0.113.7');
    const left = await current().db.selectFrom('login_attempts').select('source').execute();
    expect(left.map((row) => row.source)).toEqual(['203.0.113.7']);
  });
});
