// The console's static files in front of the API: cache headers, the index.html fallback for
// client routes, the CSP, what must not leave the assets directory, and the 503 when unbuilt.
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, serveConsole } from '../../src/console/serve-console.js';
import { makeTempDir } from '../support/temp-dir.js';

const INDEX = '<!doctype html><script type="module" src="/console/assets/app-1a2b3c.js"></script>';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('serveConsole', () => {
  let cleanup: () => Promise<void>;
  let built: Server;
  let unbuilt: Server;
  let base: string;
  let unbuiltBase: string;

  beforeAll(async () => {
    const temp = await makeTempDir('fieldline-console-');
    cleanup = temp.remove;
    const assets = join(temp.path, 'app');
    await mkdir(join(assets, 'assets'), { recursive: true });
    await writeFile(join(assets, 'index.html'), INDEX);
    await writeFile(join(assets, 'assets', 'app-1a2b3c.js'), 'export {};');
    await writeFile(join(temp.path, 'secret.txt'), 'outside');
    const api = (_request: unknown, response: ServerResponse): void => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('api');
    };
    built = createServer(serveConsole(api, assets));
    unbuilt = createServer(serveConsole(api, join(temp.path, 'missing')));
    base = await listen(built);
    unbuiltBase = await listen(unbuilt);
  });

  afterAll(async () => {
    await new Promise((resolve) => built?.close(resolve));
    await new Promise((resolve) => unbuilt?.close(resolve));
    await cleanup?.();
  });

  it('answers client routes with index.html, revalidated, under a strict CSP', async () => {
    for (const path of ['/console', '/console/', '/console/setup', '/console/consent?x=1']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text()).toBe(INDEX);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    }
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('serves hashed assets as immutable and a missing one as a JSON 404', async () => {
    const asset = await fetch(`${base}/console/assets/app-1a2b3c.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const missing = await fetch(`${base}/console/assets/app-000000.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('never reads outside the assets directory', async () => {
    for (const path of ['/console/..%2Fsecret.txt', '/console/assets/..%2F..%2Fsecret.txt']) {
      const response = await fetch(`${base}${path}`);
      expect(await response.text(), path).not.toContain('outside');
    }
    const badEncoding = await fetch(`${base}/console/%ZZ`);
    expect(badEncoding.status).toBe(400);
  });

  it('leaves every other path to the API and refuses writes', async () => {
    expect(await (await fetch(`${base}/v1/consoleish`)).text()).toBe('api');
    expect(await (await fetch(`${base}/consolex`)).text()).toBe('api');
    const post = await fetch(`${base}/console/setup`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 503 telling to build when the assets are missing', async () => {
    const response = await fetch(`${unbuiltBase}/console/setup`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toContain('npm run build');
  });
});
