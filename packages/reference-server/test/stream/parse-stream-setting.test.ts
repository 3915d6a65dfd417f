import { describe, expect, it } from 'vitest';
import { isServerStartError } from '../../src/errors/server-start-error.js';
import { parseStreamSetting } from '../../src/stream/open-event-stream.js';

describe('parseStreamSetting', () => {
  it('reads embedded and one or more NATS URLs', () => {
    expect(parseStreamSetting('embedded')).toBe('embedded');
    expect(parseStreamSetting('nats://127.0.0.1:4222')).toEqual({
      natsServers: ['nats://127.0.0.1:4222'],
    });
    expect(parseStreamSetting('nats://a:4222, nats://b:4222')).toEqual({
      natsServers: ['nats://a:4222', 'nats://b:4222'],
    });
  });

  it('refuses anything else with invalid_option', () => {
    for (const text of ['', 'nats', 'http://a:4222', 'nats://a:4222,', 'Embedded']) {
      let caught: unknown;
      try {
        parseStreamSetting(text);
      } catch (error) {
        caught = error;
      }
      expect(isServerStartError(caught) && caught.code === 'invalid_option').toBe(true);
    }
  });
});
