import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { errorBody } from '@fieldline/core';

/** A node:http request listener. */
type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/** Where the console is mounted. */
export const CONSOLE_PATH = '/console';

/**
 * The console's Content-Security-Policy: everything from this origin only, no inline script or
 * style attribute in markup, no framing (the pages hold sessions: no clickjacking).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/**
 * Whether a request path is the console's.
 *
 * @param path - the path, without the query.
 * @returns true for `/console` and everything under `/console/`.
 */
export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
}

function pathOf(request: IncomingMessage): string {
  const raw = request.url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

function sendJsonError(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  code: Parameters<typeof errorBody>[0],
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(errorBody(code, message));
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

async function readIfFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * Serves the console's built assets on `/console` and `/console/*` in front of another listener
 * (the API), which gets every other path. Hashed files under `/console/assets/` are cached for
 * a year (`immutable`); any other path that names no file answers `index.html` (`no-cache`), so
 * client routes such as `/console/setup` load the application. Every answer carries a strict
 * Content-Security-Policy ({@link CONSOLE_CSP}). When the assets are not built, it answers 503
 * `unavailable` saying to run `npm run build`.
 *
 * @param next - the listener for every other path.
 * @param assetsDir - the built assets (`consoleAssetsDir()` of `@fieldline/console`).
 * @returns the combined listener.
 * @example
 * ```ts
 * createServer(serveConsole(toNodeListener(app), consoleAssetsDir()));
 * ```
 */
export function serveConsole(next: Listener, assetsDir: string): Listener {
  const root = resolve(assetsDir);
  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendJsonError(
        request,
        response,
        405,
        'method_not_allowed',
        'The console answers GET and HEAD only.',
        {
          allow: 'GET, HEAD',
        },
      );
      return;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(pathOf(request).slice(CONSOLE_PATH.length));
    } catch {
      sendJsonError(
        request,
        response,
        400,
        'invalid_request',
        'The path is not valid percent-encoding.',
      );
      return;
    }
    const file = resolve(join(root, relative));
    // `..` or an encoded separator must not leave the assets directory.
    const inside = file.startsWith(root + sep) && !relative.includes('\u0000');
    const isAsset = relative.startsWith('/assets/');
    const found = inside && extname(file) !== '' ? await readIfFile(file) : undefined;
    if (found !== undefined) {
      respond(request, response, found, extname(file), isAsset);
      return;
    }
    if (isAsset) {
      sendJsonError(request, response, 404, 'not_found', `No such console asset: ${relative}.`);
      return;
    }
    const index = await readIfFile(join(root, 'index.html'));
    if (index === undefined) {
      sendJsonError(
        request,
        response,
        503,
        'unavailable',
        'The console is not built: run `npm run build` at the repository root (it builds @fieldline/console), then restart the server.',
        { 'retry-after': '60' },
      );
      return;
    }
    respond(request, response, index, '.html', false);
  };
  return (request, response) => {
    if (!isConsolePath(pathOf(request))) {
      next(request, response);
      return;
    }
    answer(request, response).catch(() => {
      if (!response.headersSent) {
        sendJsonError(
          request,
          response,
          503,
          'unavailable',
          'The console assets could not be read.',
          {
            'retry-after': '5',
          },
        );
      } else response.destroy();
    });
  };
}

function respond(
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
  extension: string,
  immutable: boolean,
): void {
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
    'content-length': String(body.byteLength),
    // Hashed names change with their content; index.html names the current ones.
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}
