import { randomUUID } from 'node:crypto';
import { createFakeClock } from '@fieldline/core/testing';
import { expect, it } from 'vitest';
import { createDatabaseReplayGuard } from '../../src/ingestion/index.js';
import { describeEachDatabase } from '../support/test-databases.js';

describeEachDatabase('database replay guard', (current) => {
  it('is shared by every guard on the same database', async () => {
    const clock = createFakeClock({ nowMs: Date.now() });
    const one = createDatabaseReplayGuard(current().db, { clock });
    const two = createDatabaseReplayGuard(current().db, { clock });
    const id = randomUUID();
    expect(await one.checkAndRemember(id, clock.now())).toBe(true);
    expect(await two.checkAndRemember(id, clock.now())).toBe(false);
    expect(await one.checkAndRemember(id, clock.now())).toBe(false);
    expect(await two.checkAndRemember(randomUUID(), clock.now())).toBe(true);
  });

  it('accepts exactly one of many concurrent checks of one id', async () => {
    const clock = createFakeClock({ nowMs: Date.now() });
    const guards = Array.from({ length: 4 }, () =>
      createDatabaseReplayGuard(current().db, { clock }),
    );
    const id = randomUUID();
    const verdicts = await Promise.all(
      guards.map((guard) => guard.checkAndRemember(id, clock.now())),
    );
    expect(verdicts.filter(Boolean)).toHaveLength(1);
  });

  it('refuses ids older than the window and deletes expired rows', async () => {
    const { db } = current();
    const clock = createFakeClock({ nowMs: Date.now() });
    const guard = createDatabaseReplayGuard(db, { clock, windowMs: 1000, sweepIntervalMs: 1000 });
    expect(await guard.checkAndRemember(randomUUID(), clock.now() - 1001)).toBe(false);
    const id = randomUUID();
    expect(await guard.checkAndRemember(id, clock.now())).toBe(true);
    clock.advance(5000);
    await guard.checkAndRemember(randomUUID(), clock.now());
    const left = await db
      .selectFrom('seen_messages')
      .select('message_id')
      .where('message_id', '=', id)
      .execute();
    expect(left).toEqual([]);
  });
});
