// The coalescing of broadcast notices into delivery rounds: one round at a time, everything
// that arrived meanwhile in the next, and a failed round does not stop later ones.
import { describe, expect, it } from 'vitest';
import { createGatheredRounds } from '../../src/realtime/gathered-rounds.js';

describe('createGatheredRounds', () => {
  it('runs what arrives in one burst as one round, and what arrives during it as the next', async () => {
    const rounds: number[][] = [];
    let release: () => void = () => undefined;
    const errors: unknown[] = [];
    const gatherer = createGatheredRounds<number>(
      async (items) => {
        rounds.push(items);
        if (rounds.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      (error) => errors.push(error),
    );
    gatherer.add([1, 2]);
    gatherer.add([3, 2]);
    await expect.poll(() => rounds.length).toBe(1);
    gatherer.add([4]);
    gatherer.add([5, 6]);
    // Still one round: the second waits for the first.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toEqual([[1, 2, 3]]);
    release();
    await expect.poll(() => rounds.length).toBe(2);
    expect(rounds[1]).toEqual([4, 5, 6]);
    expect(errors).toEqual([]);
  });

  it('reports a failed round and keeps serving', async () => {
    const seen: number[][] = [];
    const errors: unknown[] = [];
    const gatherer = createGatheredRounds<number>(
      async (items) => {
        seen.push(items);
        if (items.includes(0)) throw new Error('database down');
      },
      (error) => errors.push(error),
    );
    gatherer.add([0]);
    await expect.poll(() => errors.length).toBe(1);
    gatherer.add([7]);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen).toEqual([[0], [7]]);
    expect((errors[0] as Error).message).toBe('database down');
  });
});
