// fast-check arbitraries of whole HTTP requests against every route of the reference server:
// methods, odd paths and queries, credentials of every kind (none, garbage, another tenant's,
// right ones), content types and encodings, and bodies from garbage to deep nesting, huge
// numbers, U+0000, lone surrogates, broken UTF-8 and real sealed frames.
import { gzipSync } from 'node:zlib';
import { ROUTES } from '@fieldline/core';
import fc from 'fast-check';
// The in-process suites' arbitraries (server-sdk/test/fuzz), reused from outside the process.
import {
  randomPathSegment,
  storableText,
  wrongType,
} from '../../../server-sdk/test/support/fuzz-arbitraries.js';

/** One request as sent on the wire. */
export interface FuzzRequest {
  readonly method: string;
  /** The request target, already percent-encoded as it goes on the wire. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

/** What the generated requests may use: real credentials and ids of the spawned server. */
export interface FuzzTargets {
  readonly adminToken: string;
  /** Device tokens of tenant `default`, then of tenant `other`. */
  readonly ownDeviceToken: string;
  readonly otherDeviceToken: string;
  readonly ownDeviceId: string;
  readonly otherDeviceId: string;
  /** An install token already used by an enrollment. */
  readonly usedInstallToken: string;
  /** An unused install token (no generated enrollment body is valid, so it stays unused). */
  readonly freshInstallToken: string;
  /** Commands of the own and the other device. */
  readonly commandIds: readonly string[];
  /** Real sealed bodies (`{ "sealed": … }` JSON) of both devices, valid and not. */
  readonly sealedBodies: readonly string[];
}

const utf8 = new TextEncoder();
const bytes = (text: string) => utf8.encode(text);

/** The wire limit of the server (2 MiB); larger bodies are answered 413 and the socket closed. */
export const WIRE_LIMIT_BYTES = 2 * 1024 * 1024;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'TRACE'];

const nested = (depth: number, kind: 'array' | 'object' | 'mixed') => {
  if (kind === 'array') return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return `${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}`;
};

/** Nesting around the limit (64) and far past it, up to the issue's 1,000,000 levels. */
const deepBody = fc
  .tuple(
    fc.oneof(
      { weight: 600, arbitrary: fc.integer({ min: 55, max: 75 }) },
      { weight: 300, arbitrary: fc.constantFrom(4_000, 5_000, 20_000) },
      // Up to 2 MB each: rare, or the suite would spend its time moving bytes.
      { weight: 5, arbitrary: fc.constantFrom(300_000, 1_000_000) },
    ),
    fc.constantFrom('array', 'object', 'mixed' as const),
  )
  .map(([depth, kind]) => nested(kind === 'mixed' ? Math.ceil(depth / 2) : depth, kind));

/** Numbers no double holds, or that lose precision. */
const hugeNumber = fc.constantFrom(
  '1e999999',
  '-1e-999999',
  '123456789012345678901234567890123456789',
  '9007199254740993',
  '-0',
  '1E400',
  `1${'0'.repeat(5000)}`,
  '0.0000000000000000000000000000000000000001',
);

/** Text with U+0000, lone surrogates, odd Unicode: as JSON escapes and as raw characters. */
const awkwardText = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff',
    'x\udc00y',
    '\ufeff',
    '\u202e',
    '\uffff',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  storableText({ maxLength: 20 }),
);

// Field names of every body schema, so random objects often have the right keys.
const FIELD_NAMES = [
  'tenant',
  'ttlSeconds',
  'hostname',
  'os',
  'arch',
  'agentVersion',
  'publicKeys',
  'signingPublicKey',
  'encryptionPublicKey',
  'version',
  'scopes',
  'text',
  'url',
  'action',
  'policyVersion',
  'expiresAt',
  'type',
  'body',
  'deviceId',
  'config',
  'status',
  'result',
  'error',
  'sealed',
  'events',
  'batchId',
  '__proto__',
  'constructor',
];

const fieldValue = fc.oneof(
  wrongType,
  awkwardText,
  hugeNumber.map(Number),
  fc.constantFrom('default', 'other', 'grant', 'withdraw', 'restart', 'succeeded', 'failed'),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Objects shaped like the routes' bodies, mostly wrong in some field. */
const routeShapedObject = fc.dictionary(fc.constantFrom(...FIELD_NAMES), fieldValue, {
  maxKeys: 6,
});

let oversize: Uint8Array | undefined;
const oversized = (): Uint8Array => {
  oversize ??= bytes(`"${'x'.repeat(WIRE_LIMIT_BYTES + 10)}"`);
  return oversize;
};

function jsonBytes(value: unknown): Uint8Array {
  return bytes(JSON.stringify(value) ?? 'null');
}

function bodyArbitrary(targets: FuzzTargets): fc.Arbitrary<Uint8Array | undefined> {
  return fc.oneof(
    { weight: 600, arbitrary: fc.constant(undefined) },
    { weight: 400, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 500, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(jsonBytes) },
    { weight: 800, arbitrary: routeShapedObject.map(jsonBytes) },
    { weight: 400, arbitrary: deepBody.map(bytes) },
    { weight: 200, arbitrary: hugeNumber.map((n) => bytes(`{"ttlSeconds":${n},"version":${n}}`)) },
    {
      weight: 200,
      arbitrary: fc
        .constantFrom('"\\u0000"', '{"tenant":"\\ud800"}', '{"\\u0000":1}', '["\\udc00\\ud800"]')
        .map(bytes),
    },
    {
      weight: 200,
      // Broken UTF-8: a lone 0xff, an overlong NUL, an encoded surrogate, a cut sequence.
      arbitrary: fc
        .constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xef, 0xbb, 0xbf])
        .map((raw) => Uint8Array.from([0x22, ...raw, 0x22])),
    },
    {
      weight: 300,
      arbitrary: fc
        .oneof(
          fc.constantFrom(...targets.sealedBodies),
          fc.base64String({ maxLength: 200 }).map((sealed) => JSON.stringify({ sealed })),
          fc.constantFrom('{"sealed":""}', '{"sealed":null}', '{"sealed":"!!!"}'),
        )
        .map(bytes),
    },
    // Over the wire limit: about one request in a thousand.
    { weight: 4, arbitrary: fc.constant(null).map(oversized) },
  );
}

function pathArbitrary(targets: FuzzTargets): fc.Arbitrary<string> {
  const templates = [...Object.values(ROUTES), '/console', '/openapi.json', '/'];
  const idSegment = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(targets.ownDeviceId, targets.otherDeviceId) },
    { weight: 2, arbitrary: fc.constantFrom(...targets.commandIds) },
    { weight: 3, arbitrary: randomPathSegment(40) },
    { weight: 1, arbitrary: fc.uuid() },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '%00',
        'a%00b',
        '%ZZ',
        '%',
        '%E0%A4%A',
        '%ED%A0%80',
        '%F0%9F%98%80',
        '%2F',
        '..%2F..',
        '%20',
        'x'.repeat(2000),
        '',
      ),
    },
  );
  const filled = fc
    .tuple(fc.constantFrom(...templates), fc.array(idSegment, { minLength: 2, maxLength: 2 }))
    .map(([template, ids]) => {
      let index = 0;
      return template.replace(/:id/g, () => ids[index++] ?? '');
    });
  const variant = fc.tuple(
    filled,
    fc.oneof(
      { weight: 8, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constant('/') },
      { weight: 1, arbitrary: randomPathSegment(10).map((segment) => `/${segment}`) },
    ),
    fc.oneof(
      { weight: 5, arbitrary: fc.constant('') },
      {
        weight: 3,
        arbitrary: fc
          .array(
            fc.tuple(
              fc.constantFrom(
                'limit',
                'afterSeq',
                'tenant',
                'device',
                'from',
                'to',
                'groupBy',
                'x',
              ),
              fc.oneof(
                fc.integer({ min: -3, max: 1003 }).map(String),
                fc.constantFrom('', '1e400', 'NaN', '-0', '99999999999999999999', '%00', '%ZZ'),
                randomPathSegment(8),
              ),
            ),
            { maxLength: 3 },
          )
          .map((pairs) => `?${pairs.map(([key, value]) => `${key}=${value}`).join('&')}`),
      },
    ),
  );
  return fc.oneof(
    { weight: 12, arbitrary: variant.map(([path, extra, query]) => `${path}${extra}${query}`) },
    { weight: 1, arbitrary: filled.map((path) => path.replace('/v1/', '//v1//')) },
    { weight: 1, arbitrary: filled.map((path) => path.toUpperCase()) },
    {
      weight: 2,
      arbitrary: fc
        .array(randomPathSegment(12), { minLength: 1, maxLength: 5 })
        .map((segments) => `/${segments.join('/')}`),
    },
    { weight: 1, arbitrary: fc.constantFrom('*', 'http://evil.example/v1/enroll', '/%', '/?') },
  );
}

function authorizationArbitrary(targets: FuzzTargets): fc.Arbitrary<string | undefined> {
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    maxLength: 80,
  });
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    {
      weight: 10,
      arbitrary: fc
        .constantFrom(
          targets.adminToken,
          targets.ownDeviceToken,
          targets.otherDeviceToken,
          targets.usedInstallToken,
        )
        .map((token) => `Bearer ${token}`),
    },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom('fl_admin_', 'fl_device_', 'fl_install_', '')
        .chain((prefix) => printable.map((rest) => `Bearer ${prefix}${rest}`)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'Bearer',
        'Bearer ',
        'bearer x',
        'Basic YWRtaW46YWRtaW4=',
        `Bearer ${'A'.repeat(4000)}`,
        `Bearer ${targets.adminToken}x`,
        `Bearer  ${targets.adminToken}`,
        `Token ${targets.adminToken}`,
      ),
    },
    { weight: 1, arbitrary: printable },
  );
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/vnd.fieldline+json',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      '',
    ),
  },
  { weight: 2, arbitrary: fc.constant(undefined) },
);

const extraHeaders = fc.dictionary(
  fc.constantFrom(
    'if-none-match',
    'x-forwarded-for',
    'accept-encoding',
    'x-request-id',
    'accept',
    'x-a',
  ),
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    maxLength: 60,
  }),
  { maxKeys: 3 },
);

// One 64 MiB run of spaces, gzipped once: a compression bomb of ~64 KiB on the wire.
let bomb: Uint8Array | undefined;
const gzipBomb = () => {
  bomb ??= gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
  return bomb;
};

// The method each route answers, so that most requests get past routing to the credential
// and body checks (a random method and path mostly meet 404 and 405).
type Credential = 'admin' | 'device' | 'install' | 'none';
const ROUTE_METHODS: ReadonlyArray<readonly [string, string, Credential]> = [
  [ROUTES.enroll, 'POST', 'install'],
  [ROUTES.events, 'POST', 'device'],
  [ROUTES.reports, 'POST', 'device'],
  [ROUTES.commandAck, 'POST', 'device'],
  [ROUTES.adminInstallTokens, 'POST', 'admin'],
  [ROUTES.adminDeviceConsent, 'POST', 'admin'],
  [ROUTES.adminDeviceCommands, 'POST', 'admin'],
  [ROUTES.adminPolicies, 'POST', 'admin'],
  [ROUTES.adminBroadcast, 'POST', 'admin'],
  [ROUTES.adminConfig, 'PUT', 'admin'],
  [ROUTES.config, 'GET', 'device'],
  [ROUTES.commands, 'GET', 'device'],
  [ROUTES.adminDevices, 'GET', 'admin'],
  [ROUTES.adminDevice, 'GET', 'admin'],
  [ROUTES.adminDeviceConsent, 'GET', 'admin'],
  [ROUTES.adminDeviceEvents, 'GET', 'admin'],
  [ROUTES.adminDeviceReports, 'GET', 'admin'],
  [ROUTES.adminConsentReceipt, 'GET', 'admin'],
  [ROUTES.adminCommand, 'GET', 'admin'],
  [ROUTES.adminAudit, 'GET', 'admin'],
  [ROUTES.adminAuditVerify, 'GET', 'admin'],
  [ROUTES.authLogin, 'POST', 'none'],
  [ROUTES.authSetup, 'POST', 'none'],
  [ROUTES.users, 'POST', 'admin'],
  [ROUTES.user, 'PATCH', 'admin'],
  [ROUTES.health, 'HEAD', 'none'],
  [ROUTES.metrics, 'HEAD', 'none'],
];

/** A route with its own method and real ids (or a random one now and then). */
function aimedArbitrary(
  targets: FuzzTargets,
): fc.Arbitrary<{ method: string; path: string; authorization?: string }> {
  const rightToken: Record<Credential, string | undefined> = {
    admin: targets.adminToken,
    device: targets.ownDeviceToken,
    install: targets.freshInstallToken,
    none: undefined,
  };
  const id = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(targets.ownDeviceId, targets.otherDeviceId) },
    { weight: 3, arbitrary: fc.constantFrom(...targets.commandIds) },
    { weight: 1, arbitrary: randomPathSegment(20) },
  );
  return fc
    .tuple(
      fc.constantFrom(...ROUTE_METHODS),
      id,
      fc.constantFrom('', '?limit=5', '?limit=0'),
      // Mostly the right credential, so the body is what gets tested.
      fc.boolean(),
    )
    .map(([[template, method, credential], value, query, rightOne]) => {
      const path = `${template.replace(/:id/g, value)}${query}`;
      const token = rightToken[credential];
      return rightOne && token !== undefined
        ? { method, path, authorization: `Bearer ${token}` }
        : { method, path };
    });
}

/** Every request the suite sends. */
export function requestArbitrary(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const scattered = fc.record({
    method: fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom('GET', 'POST') },
      { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
    ),
    path: pathArbitrary(targets),
  });
  return fc
    .record({
      target: fc.oneof(
        { weight: 3, arbitrary: aimedArbitrary(targets) },
        { weight: 2, arbitrary: scattered },
      ),
      authorization: authorizationArbitrary(targets),
      contentType,
      encoding: fc.oneof(
        { weight: 2000, arbitrary: fc.constant('none') },
        { weight: 300, arbitrary: fc.constant('gzip') },
        { weight: 100, arbitrary: fc.constantFrom('gzip-broken', 'br', 'identity', 'gzip, gzip') },
        // A compression bomb: about one request in a thousand.
        { weight: 3, arbitrary: fc.constant('bomb') },
      ),
      body: bodyArbitrary(targets),
      extra: extraHeaders,
    })
    .map(({ target, authorization, contentType: type, encoding, body, extra }) => {
      const { method, path } = target;
      const headers: Record<string, string> = { ...extra };
      const credential = 'authorization' in target ? target.authorization : authorization;
      if (credential !== undefined) headers.authorization = credential;
      if (type !== undefined) headers['content-type'] = type;
      let payload = body;
      if (encoding === 'bomb') {
        headers['content-encoding'] = 'gzip';
        payload = gzipBomb();
      } else if (encoding === 'gzip' && body !== undefined) {
        headers['content-encoding'] = 'gzip';
        payload = gzipSync(body);
      } else if (encoding !== 'none' && encoding !== 'gzip') {
        headers['content-encoding'] = encoding === 'gzip-broken' ? 'gzip' : encoding;
      }
      return payload === undefined
        ? { method, path, headers }
        : { method, path, headers, body: payload };
    });
}
