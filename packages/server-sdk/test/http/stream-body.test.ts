import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { toFetchHandler } from '../../src/http/fetch-adapter.js';
import { toNodeListener } from '../../src/http/node-adapter.js';
import { isFieldlineStream } from '../../src/http/stream-body.js';
import type { FieldlineHandler, FieldlineStream } from '../../src/http/types.js';

/** A stream that writes `chunks`, then ends itself, counting its cleanups. */
function finiteStream(chunks: readonly string[], cleanups: { count: number }): FieldlineStream {
  return {
    kind: 'stream',
    start(sink) {
      for (const chunk of chunks) sink.write(chunk);
      sink.end();
      sink.write('ignored after end');
      sink.end();
      return () => {
        cleanups.count += 1;
      };
    },
  };
}

function handlerFor(body: FieldlineStream): FieldlineHandler {
  return {
    handle: async () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body }),
  };
}

describe('streaming bodies', () => {
  it('recognises a stream body and nothing else', () => {
    expect(isFieldlineStream(finiteStream([], { count: 0 }))).toBe(true);
    expect(isFieldlineStream({ kind: 'stream' })).toBe(false);
    expect(isFieldlineStream('text')).toBe(false);
    expect(isFieldlineStream(null)).toBe(false);
  });

  it('node adapter: writes the chunks, ends, and cleans up once (end inside start)', async () => {
    const cleanups = { count: 0 };
    const server = createServer(toNodeListener(handlerFor(finiteStream(['a', 'b'], cleanups))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ab');
      await expect.poll(() => cleanups.count).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fetch adapter: reads the chunks, ends, and cleans up once', async () => {
    const cleanups = { count: 0 };
    const handle = toFetchHandler(handlerFor(finiteStream(['x', 'y', 'z'], cleanups)));
    const response = await handle(new Request('http://local/'));
    expect(await response.text()).toBe('xyz');
    expect(cleanups.count).toBe(1);
  });

  it('fetch adapter: a stream that throws in start errors the body', async () => {
    const handle = toFetchHandler(
      handlerFor({
        kind: 'stream',
        start() {
          throw new Error('broken stream');
        },
      }),
    );
    const response = await handle(new Request('http://local/'));
    await expect(response.text()).rejects.toThrow();
  });
});
