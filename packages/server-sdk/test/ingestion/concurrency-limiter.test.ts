import { describe, expect, it } from 'vitest';
import { createConcurrencyLimiter } from '../../src/ingestion/index.js';

describe('createConcurrencyLimiter', () => {
  it('refuses beyond maxInFlight when there is no queue', async () => {
    const limiter = createConcurrencyLimiter({ maxInFlight: 2 });
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    expect(await limiter.acquire()).toBeUndefined();
    a?.();
    a?.(); // releasing twice gives back one slot only
    expect(limiter.inFlight).toBe(1);
    expect(await limiter.acquire()).toBeTypeOf('function');
    expect(await limiter.acquire()).toBeUndefined();
    b?.();
  });

  it('hands a released slot to the oldest waiter', async () => {
    const limiter = createConcurrencyLimiter({ maxInFlight: 1, maxQueue: 1 });
    const first = await limiter.acquire();
    const waiting = limiter.acquire();
    expect(limiter.queued).toBe(1);
    expect(await limiter.acquire()).toBeUndefined();
    first?.();
    const second = await waiting;
    expect(second).toBeTypeOf('function');
    expect(limiter.inFlight).toBe(1);
    second?.();
    expect(limiter.inFlight).toBe(0);
  });
});
