// The pure parts of the client state machine: what each close code leads to (§4.6), the
// reconnect backoff, the socket URL.
import { REALTIME_CLOSE_CODES } from '@fieldline/core';
import { createSeededRandom } from '@fieldline/core/testing';
import { describe, expect, it } from 'vitest';
import { realtimeUrl } from '../../src/realtime/agent-realtime.js';
import { closeCodeAction } from '../../src/realtime/close-code-action.js';
import { createReconnectBackoff } from '../../src/realtime/reconnect-backoff.js';

describe('close codes', () => {
  it.each([
    [1000, 'backoff'],
    [1001, 'backoff'],
    [1006, 'backoff'],
    [1009, 'backoff'],
    [REALTIME_CLOSE_CODES.replaced, 'wait_cap'],
    [REALTIME_CLOSE_CODES.heartbeatTimeout, 'backoff'],
    [REALTIME_CLOSE_CODES.slowConsumer, 'backoff'],
    [REALTIME_CLOSE_CODES.rateLimited, 'backoff'],
    [REALTIME_CLOSE_CODES.invalidFrame, 'backoff'],
    [REALTIME_CLOSE_CODES.unauthenticated, 'new_hello'],
    [REALTIME_CLOSE_CODES.deviceRevoked, 'revoked'],
    [REALTIME_CLOSE_CODES.helloTimeout, 'backoff'],
    [REALTIME_CLOSE_CODES.replayed, 'backoff'],
  ])('%i → %s', (code, action) => {
    expect(closeCodeAction(code, false)).toBe(action);
  });

  it('stops on any code during our own shutdown', () => {
    expect(closeCodeAction(1000, true)).toBe('stop');
    expect(closeCodeAction(1006, true)).toBe('stop');
  });
});

describe('reconnect backoff', () => {
  it('draws full jitter under an exponential ceiling capped at capMs', () => {
    const backoff = createReconnectBackoff({
      baseMs: 1_000,
      capMs: 60_000,
      random: createSeededRandom(7),
    });
    for (let failures = 1; failures <= 12; failures++) {
      const ceiling = Math.min(60_000, 1_000 * 2 ** (failures - 1));
      for (let i = 0; i < 50; i++) {
        const delay = backoff.delayMs(failures);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(backoff.capMs).toBe(60_000);
  });

  it('refuses a base above the cap', () => {
    expect(() =>
      createReconnectBackoff({ baseMs: 5_000, capMs: 1_000, random: createSeededRandom(1) }),
    ).toThrow(/baseMs/);
  });
});

describe('realtime URL', () => {
  it('maps http(s) to ws(s) and appends /v1/ws', () => {
    expect(realtimeUrl('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/v1/ws');
    expect(realtimeUrl('https://fl.example.com/base/')).toBe('wss://fl.example.com/base/v1/ws');
  });
});
