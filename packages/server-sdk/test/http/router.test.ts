// HEAD on every GET route and `Allow` on 405, through both adapters over real requests.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFetchHandler } from '../../src/http/fetch-adapter.js';
import { HttpError } from '../../src/http/http-error.js';
import { json } from '../../src/http/json-body.js';
import { toNodeListener } from '../../src/http/node-adapter.js';
import { createRouter } from '../../src/http/router.js';
import type { FieldlineStream, Route } from '../../src/http/types.js';

let streamsStarted = 0;
const methodsSeen: string[] = [];

const routes: Route[] = [
  {
    method: 'GET',
    path: '/json/:id',
    async handle(request, params) {
      methodsSeen.push(request.method);
      return json(200, { id: params.id, text: 'déjà vu' }, { etag: '"v1"' });
    },
  },
  { method: 'POST', path: '/json/:id', handle: async () => json(201, { created: true }) },
  {
    method: 'GET',
    path: '/text',
    handle: async () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ß\n' }),
  },
  {
    method: 'GET',
    path: '/stream',
    async handle() {
      const body: FieldlineStream = {
        kind: 'stream',
        start(sink) {
          streamsStarted++;
          sink.write('data: 1\n\n');
          sink.end();
          return () => undefined;
        },
      };
      return { status: 200, headers: { 'content-type': 'text/event-stream' }, body };
    },
  },
  {
    method: 'GET',
    path: '/missing',
    async handle() {
      throw new HttpError('not_found', 'Nothing here.');
    },
  },
  { method: 'POST', path: '/post-only', handle: async () => json(200, {}) },
];

type Fetcher = (path: string, method: string) => Promise<Response>;

function headersOf(response: Response): Record<string, string> {
  const headers = Object.fromEntries(response.headers);
  // Hop-by-hop and per-response fields differ between any two responses.
  for (const name of ['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']) {
    delete headers[name];
  }
  return headers;
}

function describeAdapter(name: string, fetcher: () => Fetcher) {
  describe(`HEAD and 405 through ${name}`, () => {
    it('answers HEAD on every GET route with the GET status and headers and no body', async () => {
      const request = fetcher();
      for (const path of ['/json/a%20b', '/text', '/missing', '/nowhere']) {
        const get = await request(path, 'GET');
        const getBytes = new Uint8Array(await get.arrayBuffer());
        const head = await request(path, 'HEAD');
        expect([path, head.status]).toEqual([path, get.status]);
        expect(headersOf(head)).toEqual(headersOf(get));
        expect(new Uint8Array(await head.arrayBuffer()).byteLength).toBe(0);
        const length = head.headers.get('content-length');
        if (length !== null) expect(Number(length)).toBe(getBytes.byteLength);
      }
      expect(methodsSeen).toContain('HEAD');
    });

    it('never starts a stream for HEAD', async () => {
      const before = streamsStarted;
      const head = await fetcher()('/stream', 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('text/event-stream');
      expect(await head.text()).toBe('');
      expect(streamsStarted).toBe(before);
    });

    it('answers 405 with an Allow header listing HEAD wherever GET is allowed', async () => {
      const request = fetcher();
      const cases: Array<[string, string, string]> = [
        ['/json/x', 'DELETE', 'GET, HEAD, POST'],
        ['/text', 'POST', 'GET, HEAD'],
        ['/post-only', 'GET', 'POST'],
        ['/post-only', 'HEAD', 'POST'],
      ];
      for (const [path, method, allow] of cases) {
        const response = await request(path, method);
        expect([path, method, response.status, response.headers.get('allow')]).toEqual([
          path,
          method,
          405,
          allow,
        ]);
        if (method !== 'HEAD') {
          expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
            'method_not_allowed',
          );
        }
      }
    });
  });
}

const router = createRouter(routes);
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer(toNodeListener(router));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describeAdapter('node:http', () => (path, method) => fetch(`${base}${path}`, { method }));

function rawGet(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${base}/`, { path: target }, (incoming) => {
      let body = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => {
        body += chunk;
      });
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('request targets through node:http', () => {
  it('reads a path starting with // as a path, absolute-form as its path, and refuses *', async () => {
    // `//x` used to be parsed as a URL naming host `x`, and the socket was dropped unanswered.
    for (const target of ['//', '//text', '//%F0%9F%98%80/x']) {
      const answer = await rawGet(target);
      expect([target, answer.status, JSON.parse(answer.body).error.code]).toEqual([
        target,
        404,
        'not_found',
      ]);
    }
    const absolute = await rawGet('http://elsewhere.example/text');
    expect([absolute.status, absolute.body]).toEqual([200, 'ß\n']);
    const star = await rawGet('*');
    expect([star.status, JSON.parse(star.body).error.code]).toEqual([400, 'invalid_request']);
  });
});

const handle = toFetchHandler(router);
describeAdapter(
  'the fetch adapter',
  () => (path, method) => handle(new Request(`http://app.example${path}`, { method })),
);
