import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isPrivateAddress, literalAddress } from './webhook-address-guard.js';

/** One HTTP attempt's outcome. */
export interface WebhookPostResult {
  /** The receiver's status; null when no answer came. */
  readonly statusCode: number | null;
  /** Why no 2xx came (`timeout`, `blocked_address`, a socket error…), or null. */
  readonly error: string | null;
  /** From the start of the request to the answer's headers (or the failure), in ms. */
  readonly latencyMs: number;
}

/** How {@link postWebhook} sends. */
export interface WebhookPostOptions {
  /** Give up after this long, in ms. */
  readonly timeoutMs: number;
  /** Let the request reach private and loopback addresses. */
  readonly allowPrivate: boolean;
}

// Refuses, at connect time, a name that resolves to a private address: the check and the
// connection use the same lookup, so a DNS answer cannot change in between (rebinding).
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error !== null) return callback(error, '', 0);
      const usable = allowPrivate
        ? addresses
        : addresses.filter((entry) => !isPrivateAddress(entry.address));
      const first = usable[0];
      if (first === undefined) {
        const blocked = Object.assign(new Error(`${hostname} resolves to a private address`), {
          code: 'blocked_address',
        });
        return callback(blocked, '', 0);
      }
      if (options.all === true) return callback(null, usable);
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * POSTs one signed webhook body. Redirects are not followed (a 3xx is a failure), the answer's
 * body is drained and ignored, and private or loopback addresses are refused unless allowed,
 * for literal IPs and for every address a name resolves to.
 *
 * @param url - the endpoint URL (http or https).
 * @param headers - the signature headers and any others.
 * @param body - the JSON body.
 * @param options - timeout and address policy.
 * @returns the outcome; never throws.
 * @example
 * ```ts
 * const result = await postWebhook(url, headers, body, { timeoutMs: 10_000, allowPrivate: false });
 * ```
 */
export function postWebhook(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  options: WebhookPostOptions,
): Promise<WebhookPostResult> {
  const started = performance.now();
  const elapsed = () => Math.max(0, Math.round(performance.now() - started));
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ statusCode: null, error: 'invalid_url', latencyMs: 0 });
      return;
    }
    const literal = literalAddress(target);
    if (!options.allowPrivate && literal !== undefined && isPrivateAddress(literal)) {
      resolve({ statusCode: null, error: 'blocked_address', latencyMs: 0 });
      return;
    }
    const client = target.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (result: WebhookPostResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Fieldline-Webhooks/1',
          ...headers,
        },
        lookup: guardedLookup(options.allowPrivate),
        timeout: options.timeoutMs,
      },
      (response) => {
        const statusCode = response.statusCode ?? null;
        response.resume();
        const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
        finish({ statusCode, error: ok ? null : `http_${statusCode}`, latencyMs: elapsed() });
      },
    );
    // The socket timeout covers idle gaps only; this one bounds the whole attempt.
    const deadline = setTimeout(() => {
      request.destroy();
      finish({ statusCode: null, error: 'timeout', latencyMs: elapsed() });
    }, options.timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('timeout', () => {
      request.destroy();
      finish({ statusCode: null, error: 'timeout', latencyMs: elapsed() });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      finish({ statusCode: null, error: error.code ?? error.message, latencyMs: elapsed() });
    });
    request.end(body);
  });
}
