import { describe, expect, it } from 'vitest';
import { createNotifyQueue, type QueuedNotification } from '../../src/cluster/notify-queue.js';

const note = (index: number): QueuedNotification => ({
  channel: index % 2 === 0 ? 'even' : 'odd',
  payload: String(index),
});

describe('createNotifyQueue', () => {
  it('sends a lone notification at once and gathers the ones that arrive meanwhile', async () => {
    const batches: string[][] = [];
    const queue = createNotifyQueue(async (batch) => {
      batches.push(batch.map((notification) => notification.payload));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }, 50);
    const first = queue.add([note(0)]);
    expect(batches).toEqual([['0']]);
    const rest = Array.from({ length: 119 }, (_, index) => queue.add([note(index + 1)]));
    await Promise.all([first, ...rest]);
    expect(batches.map((batch) => batch.length)).toEqual([1, 50, 50, 19]);
    expect(batches.flat()).toEqual(Array.from({ length: 120 }, (_, index) => String(index)));
  });

  it('settles each add only once its own notifications were sent', async () => {
    const sent: string[] = [];
    const queue = createNotifyQueue(async (batch) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      for (const notification of batch) sent.push(notification.payload);
    }, 3);
    const many = queue.add([note(0), note(1), note(2), note(3), note(4)]);
    const single = queue.add([note(5)]);
    await many;
    expect(sent.slice(0, 5)).toEqual(['0', '1', '2', '3', '4']);
    await single;
    expect(sent).toEqual(['0', '1', '2', '3', '4', '5']);
    await expect(queue.add([])).resolves.toBeUndefined();
  });

  it('keeps going after a failed send, and drain waits for everything queued', async () => {
    const sent: string[] = [];
    let calls = 0;
    const queue = createNotifyQueue(async (batch) => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (calls === 1) throw new Error('connection lost');
      for (const notification of batch) sent.push(notification.payload);
    }, 50);
    const lost = queue.add([note(0)]);
    const later = queue.add([note(1)]);
    await queue.drain();
    expect(sent).toEqual(['1']);
    await expect(lost).resolves.toBeUndefined();
    await expect(later).resolves.toBeUndefined();
  });
});
