import { describe, expect, it } from 'vitest';
import { timerSleep } from '../../src/retry/sleep.js';

describe('timerSleep', () => {
  it('resolves after a zero delay', async () => {
    await expect(timerSleep(0)).resolves.toBeUndefined();
  });

  it('rejects at once with the reason when already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(timerSleep(60_000, controller.signal)).rejects.toThrow('stop');
  });

  it('stops waiting as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const pending = timerSleep(3_600_000, controller.signal);
    controller.abort(new Error('shutdown'));
    await expect(pending).rejects.toThrow('shutdown');
  });
});
