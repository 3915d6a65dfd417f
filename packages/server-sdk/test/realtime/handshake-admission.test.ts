// The admission policy alone: per-source and global caps, and which handshake a fairer share
// takes back (the oldest not yet past its hello, of the source holding the most).
import { describe, expect, it } from 'vitest';
import {
  createHandshakeAdmission,
  type HandshakeSlot,
} from '../../src/realtime/handshake-admission.js';

function admitted(result: HandshakeSlot | string): HandshakeSlot {
  if (typeof result === 'string') throw new Error(`refused: ${result}`);
  return result;
}

describe('handshake admission', () => {
  it('refuses a source past its cap, and admits it again once a slot is released', () => {
    const admission = createHandshakeAdmission({ maxPending: 10, maxPendingPerSource: 2 });
    const first = admitted(admission.admit('a'));
    admitted(admission.admit('a'));
    expect(admission.admit('a')).toBe('source_full');
    admitted(admission.admit('b'));
    first.release();
    first.release();
    expect(admission.pending).toBe(2);
    admitted(admission.admit('a'));
  });

  it('when full, takes the oldest evictable slot of the largest holder for a smaller one', () => {
    const admission = createHandshakeAdmission({ maxPending: 4, maxPendingPerSource: 3 });
    const evicted: string[] = [];
    const slot = (source: string, name: string, evictable = true) => {
      const taken = admitted(admission.admit(source));
      if (evictable) taken.setEvictable(() => evicted.push(name));
      return taken;
    };
    slot('big', 'big-1', false); // past its hello: never taken back
    slot('big', 'big-2');
    slot('big', 'big-3');
    slot('small', 'small-1');
    expect(admission.admit('small')).not.toBe('server_full');
    expect(evicted).toEqual(['big-2']);
    // Now big holds 2 and small 2: nobody holds more than small, so no one is taken from.
    expect(admission.admit('small')).toBe('server_full');
    expect(evicted).toEqual(['big-2']);
    // A newcomer holding none still takes from a holder of 2.
    admitted(admission.admit('new'));
    expect(evicted).toEqual(['big-2', 'big-3']);
    expect(admission.pending).toBe(4);
  });

  it('answers server_full when every pending slot is past its hello', () => {
    const admission = createHandshakeAdmission({ maxPending: 2, maxPendingPerSource: 2 });
    admitted(admission.admit('a'));
    admitted(admission.admit('a'));
    expect(admission.admit('b')).toBe('server_full');
  });
});
