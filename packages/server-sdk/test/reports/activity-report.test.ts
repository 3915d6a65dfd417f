// GET /v1/reports/activity over a real socket on both databases: every grouping and period
// against a reference sum of the fixture rows, CSV, authorization, bad parameters, ETags and
// the cache's invalidation, and a 90-day × 200-device × 5-app report streamed.
import { type ActivityReportRow, activityReportSchema } from '@fieldline/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AggregateFixture,
  insertAggregates,
  insertDevice,
  parseCsv,
  syncTenantAggregates,
} from '../support/report-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

const DAYS = ['2025-12-31', '2026-01-01', '2026-01-15', '2026-02-01'];
const APPS = ['', 'browser', 'editor', '=HYPERLINK("http://x")', 'a,"b"'];

function fixtures(): AggregateFixture[] {
  const rows: AggregateFixture[] = [];
  let n = 1;
  for (const device of ['d1', 'd2']) {
    for (const day of DAYS) {
      for (const app of APPS) {
        n += 1;
        // Device-level figures on '' only, app figures on apps only, as the consumer writes them.
        rows.push({
          tenant: 'acme',
          device,
          day,
          app,
          activeMs: app === '' ? 0 : n * 1000,
          idleMs: app === '' ? n * 10 : 0,
          launches: app === '' ? 0 : n % 4,
          bytesIn: app === '' ? n * 7 : 0,
          bytesOut: app === '' ? n * 3 : 0,
        });
      }
    }
  }
  rows.push({
    tenant: 'globex',
    device: 'g1',
    day: '2026-01-01',
    app: 'secret-app',
    activeMs: 99,
    idleMs: 0,
    launches: 1,
    bytesIn: 0,
    bytesOut: 0,
  });
  return rows;
}

type Key = 'day' | 'device' | 'app';

function expected(
  rows: readonly AggregateFixture[],
  options: {
    groupBy: Key[];
    period: 'day' | 'month' | 'year';
    device?: string;
    from: string;
    to: string;
  },
): ActivityReportRow[] {
  const sums = new Map<string, ActivityReportRow>();
  for (const row of rows) {
    if (row.tenant !== 'acme' || row.day < options.from || row.day > options.to) continue;
    if (options.device !== undefined && row.device !== options.device) continue;
    const label =
      options.period === 'day'
        ? row.day
        : options.period === 'month'
          ? row.day.slice(0, 7)
          : row.day.slice(0, 4);
    const day = options.groupBy.includes('day') ? label : null;
    const deviceId = options.groupBy.includes('device') ? row.device : null;
    const app = options.groupBy.includes('app') ? row.app : null;
    const key = JSON.stringify([day, deviceId, app]);
    const sum = sums.get(key) ?? {
      day,
      deviceId,
      app,
      activeMs: 0,
      idleMs: 0,
      launches: 0,
      bytesIn: 0,
      bytesOut: 0,
    };
    sums.set(key, {
      ...sum,
      activeMs: sum.activeMs + row.activeMs,
      idleMs: sum.idleMs + row.idleMs,
      launches: sum.launches + row.launches,
      bytesIn: sum.bytesIn + row.bytesIn,
      bytesOut: sum.bytesOut + row.bytesOut,
    });
  }
  return sortRows([...sums.values()]);
}

// Collations differ between the databases for punctuation, so content is compared in one
// JavaScript order; day order is checked on its own.
function sortRows(rows: ActivityReportRow[]): ActivityReportRow[] {
  return [...rows].sort((a, b) => {
    const ka = JSON.stringify([a.day, a.deviceId, a.app]);
    const kb = JSON.stringify([b.day, b.deviceId, b.app]);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

const GROUPINGS: Key[][] = [
  ['day'],
  ['app'],
  ['device'],
  ['day', 'app'],
  ['day', 'device'],
  ['device', 'app'],
  ['day', 'device', 'app'],
];

describeEachDatabase('activity report', (current) => {
  let server: TestServer;
  const rows = fixtures();
  const url = (query: string) => `${server.url}/v1/reports/activity?${query}`;

  beforeAll(async () => {
    const { db } = current();
    for (const device of ['d1', 'd2']) await insertDevice(db, 'acme', device);
    await insertDevice(db, 'globex', 'g1');
    await insertAggregates(db, rows);
    server = await startTestServer(db, { reports: { pageSize: 7 } });
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  describe('figures', () => {
    for (const groupBy of GROUPINGS) {
      for (const period of ['day', 'month', 'year'] as const) {
        it(`groups by ${groupBy.join(',')} per ${period}, tenant-wide and for one device`, async () => {
          const range = { from: '2025-12-31', to: '2026-02-01' };
          for (const device of [undefined, 'd2']) {
            const query = new URLSearchParams({
              ...range,
              groupBy: [...groupBy].reverse().join(','),
              period,
              ...(device === undefined ? {} : { device }),
            });
            const response = await call(url(query.toString()), { token: ACME_ADMIN_TOKEN });
            expect(response.status).toBe(200);
            const report = activityReportSchema.parse(response.body);
            expect(report.from).toBe(range.from);
            const want = expected(rows, {
              groupBy,
              period,
              ...range,
              ...(device === undefined ? {} : { device }),
            });
            expect(sortRows(report.rows)).toEqual(want);
            const days = report.rows.map((row) => row.day ?? '');
            expect(days).toEqual([...days].sort());
          }
        });
      }
    }
  });

  it('defaults to day,app per day and keeps to the inclusive range', async () => {
    const response = await call(url('from=2026-01-01&to=2026-01-15'), { token: ACME_ADMIN_TOKEN });
    expect(response.status).toBe(200);
    expect(sortRows(response.body.rows)).toEqual(
      expected(rows, {
        groupBy: ['day', 'app'],
        period: 'day',
        from: '2026-01-01',
        to: '2026-01-15',
      }),
    );
    expect(new Set(response.body.rows.map((row: ActivityReportRow) => row.day))).toEqual(
      new Set(['2026-01-01', '2026-01-15']),
    );
  });

  it('writes CSV with the same columns, RFC 4180 quoting and formulas neutralized', async () => {
    const query = 'from=2025-12-31&to=2026-02-01&groupBy=day,device,app';
    const [asJson, asCsv] = await Promise.all([
      call(url(query), { token: ACME_ADMIN_TOKEN }),
      fetch(url(`${query}&format=csv`), {
        headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}` },
      }),
    ]);
    expect(asCsv.status).toBe(200);
    expect(asCsv.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await asCsv.text();
    expect(text).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(text).toContain('"a,""b"""');
    const [header, ...records] = parseCsv(text);
    expect(header).toEqual([
      'day',
      'deviceId',
      'app',
      'activeMs',
      'idleMs',
      'launches',
      'bytesIn',
      'bytesOut',
    ]);
    const fromCsv = records.map((record) => ({
      day: record[0],
      deviceId: record[1],
      app: record[2]?.startsWith("'=") ? record[2].slice(1) : record[2],
      activeMs: Number(record[3]),
      idleMs: Number(record[4]),
      launches: Number(record[5]),
      bytesIn: Number(record[6]),
      bytesOut: Number(record[7]),
    }));
    expect(fromCsv).toEqual(asJson.body.rows);
  });

  it('writes null fields as empty CSV cells', async () => {
    const response = await fetch(url('from=2026-01-01&to=2026-01-01&groupBy=app&format=csv'), {
      headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}` },
    });
    const [, first] = parseCsv(await response.text());
    expect(first?.slice(0, 2)).toEqual(['', '']);
  });

  describe('authorization', () => {
    it('needs a token', async () => {
      const response = await call(url('from=2026-01-01&to=2026-01-01'));
      expect(response.status).toBe(401);
    });

    it('lets the operator read a named tenant, and asks it to name one', async () => {
      const named = await call(url('tenant=globex&from=2026-01-01&to=2026-01-01&groupBy=app'), {
        token: OPERATOR_TOKEN,
      });
      expect(named.status).toBe(200);
      expect(named.body.rows).toEqual([
        {
          day: null,
          deviceId: null,
          app: 'secret-app',
          activeMs: 99,
          idleMs: 0,
          launches: 1,
          bytesIn: 0,
          bytesOut: 0,
        },
      ]);
      const unnamed = await call(url('from=2026-01-01&to=2026-01-01'), { token: OPERATOR_TOKEN });
      expect(unnamed.status).toBe(400);
      expect(unnamed.body.error.code).toBe('invalid_request');
    });

    it('keeps a tenant token to its tenant: 403 for another tenant, 404 for its devices', async () => {
      const otherTenant = await call(url('tenant=globex&from=2026-01-01&to=2026-01-01'), {
        token: ACME_ADMIN_TOKEN,
      });
      expect(otherTenant.status).toBe(403);
      expect(otherTenant.body.error.code).toBe('forbidden');
      const otherDevice = await call(url('device=g1&from=2026-01-01&to=2026-01-01'), {
        token: ACME_ADMIN_TOKEN,
      });
      expect(otherDevice.status).toBe(404);
      const missing = await call(url('device=nope&from=2026-01-01&to=2026-01-01'), {
        token: ACME_ADMIN_TOKEN,
      });
      expect(missing.status).toBe(404);
      const own = await call(url('tenant=globex&from=2026-01-01&to=2026-01-01&groupBy=app'), {
        token: GLOBEX_ADMIN_TOKEN,
      });
      expect(own.body.rows.map((row: ActivityReportRow) => row.app)).toEqual(['secret-app']);
    });
  });

  it.each([
    ['from=2026-01-02&to=2026-01-01', 'to'],
    ['from=2025-01-01&to=2026-02-05', 'to'],
    ['from=2026-1-1&to=2026-01-02', 'from'],
    ['from=2026-01-01&to=2026-01-02&groupBy=day,week', 'groupBy'],
    ['from=2026-01-01&to=2026-01-02&groupBy=day,day', 'groupBy'],
    ['from=2026-01-01&to=2026-01-02&period=week', 'period'],
    ['from=2026-01-01&to=2026-01-02&format=xml', 'format'],
    ['from=2026-01-01&to=2026-01-02&colour=red', ''],
    ['from=2026-01-01&from=2026-01-02&to=2026-01-02', 'from'],
    ['to=2026-01-02', 'from'],
  ])('answers 400 invalid_request for %s', async (query, path) => {
    const response = await call(url(query), { token: ACME_ADMIN_TOKEN });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(
      response.body.error.details.issues.map((issue: { path: string }) => issue.path),
    ).toContain(path);
  });

  it('allows ten years by month, and 400 days by day', async () => {
    const byMonth = await call(url('from=2017-01-01&to=2026-12-31&period=month&groupBy=day'), {
      token: ACME_ADMIN_TOKEN,
    });
    expect(byMonth.status).toBe(200);
    expect(byMonth.body.rows.map((row: ActivityReportRow) => row.day)).toEqual([
      '2025-12',
      '2026-01',
      '2026-02',
    ]);
    const byDay = await call(url('from=2025-01-28&to=2026-03-03&groupBy=day'), {
      token: ACME_ADMIN_TOKEN,
    });
    expect(byDay.status).toBe(200);
  });

  it('answers an ETag, 304 for the same data, and a new ETag and content after a change', async () => {
    const query = 'from=2026-01-01&to=2026-01-31&groupBy=day';
    const first = await call(url(query), { token: ACME_ADMIN_TOKEN });
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await fetch(url(query), {
      headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}`, 'if-none-match': etag ?? '' },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    // The cache answers the same body without reading the rows again.
    const cached = await call(url(query), { token: ACME_ADMIN_TOKEN });
    expect(cached.body).toEqual(first.body);
    expect(cached.headers.get('etag')).toBe(etag);
    // Another tenant, or another format, is another report.
    const csv = await fetch(url(`${query}&format=csv`), {
      headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}` },
    });
    expect(csv.headers.get('etag')).not.toBe(etag);

    await insertAggregates(current().db, [
      {
        tenant: 'acme',
        device: 'd1',
        day: '2026-01-20',
        app: 'editor',
        activeMs: 5000,
        idleMs: 0,
        launches: 2,
        bytesIn: 0,
        bytesOut: 0,
      },
    ]);
    const changed = await fetch(url(query), {
      headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}`, 'if-none-match': etag ?? '' },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const body = (await changed.json()) as { rows: ActivityReportRow[] };
    expect(body.rows.find((row) => row.day === '2026-01-20')).toMatchObject({
      activeMs: 5000,
      launches: 2,
    });
    // Outside the range the data may change without changing this report's ETag.
    await insertAggregates(current().db, [
      {
        tenant: 'acme',
        device: 'd1',
        day: '2026-03-01',
        app: 'editor',
        activeMs: 1,
        idleMs: 0,
        launches: 0,
        bytesIn: 0,
        bytesOut: 0,
      },
    ]);
    const outside = await fetch(url(query), {
      headers: {
        authorization: `Bearer ${ACME_ADMIN_TOKEN}`,
        'if-none-match': changed.headers.get('etag') ?? '',
      },
    });
    expect(outside.status).toBe(304);
  });
});

describeEachDatabase('activity report streaming', (current) => {
  let server: TestServer;

  beforeAll(async () => {
    const { db } = current();
    await db.insertInto('tenants').values({ id: 'bulk' }).execute();
    await sql`
      insert into devices (id, tenant_id, hostname, os, arch, signing_public_key, encryption_public_key)
      select 'dev-' || lpad(d::text, 3, '0'), 'bulk', 'h', 'linux', 'x64', 'k', 'k'
      from generate_series(1, 200) d`.execute(db);
    await sql`
      insert into aggregates (tenant_id, device_id, day, app, active_ms, idle_ms, launches, bytes_in, bytes_out)
      select 'bulk', 'dev-' || lpad(d::text, 3, '0'), date '2026-01-01' + g, 'app' || a,
        1000 * a + g, d, 1, 0, 0
      from generate_series(0, 89) g, generate_series(1, 200) d, generate_series(1, 5) a`.execute(
      db,
    );
    await syncTenantAggregates(db);
    server = await startTestServer(db);
  }, 120_000);
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  it('streams 90 days × 200 devices × 5 apps in JSON, rows in order and sums exact', async () => {
    const response = await fetch(
      `${server.url}/v1/reports/activity?tenant=bulk&from=2026-01-01&to=2026-03-31&groupBy=day,device,app`,
      { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } },
    );
    expect(response.status).toBe(200);
    // Streamed as read: no length known up front.
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('etag')).toMatch(/^"/);
    const report = activityReportSchema.parse(await response.json());
    expect(report.rows).toHaveLength(90_000);
    expect(report.rows[0]).toEqual({
      day: '2026-01-01',
      deviceId: 'dev-001',
      app: 'app1',
      activeMs: 1000,
      idleMs: 1,
      launches: 1,
      bytesIn: 0,
      bytesOut: 0,
    });
    expect(report.rows.at(-1)).toMatchObject({
      day: '2026-03-31',
      deviceId: 'dev-200',
      app: 'app5',
    });
    const keys = report.rows.map((row) => `${row.day}|${row.deviceId}|${row.app}`);
    expect(new Set(keys).size).toBe(90_000);
    expect(keys).toEqual([...keys].sort());
    const activeMs = report.rows.reduce((sum, row) => sum + row.activeMs, 0);
    // Σ over g<90, d≤200, a≤5 of (1000a + g) = 200·(90·1000·15 + 5·Σg).
    expect(activeMs).toBe(200 * (90 * 1000 * 15 + 5 * ((89 * 90) / 2)));
  }, 120_000);

  it('stops reading when the client leaves mid-stream, and keeps serving', async () => {
    const controller = new AbortController();
    const response = await fetch(
      `${server.url}/v1/reports/activity?tenant=bulk&from=2026-01-01&to=2026-03-31&groupBy=day,device,app&format=csv`,
      { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` }, signal: controller.signal },
    );
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value).startsWith('day,deviceId,app,')).toBe(true);
    controller.abort();
    await reader?.cancel().catch(() => undefined);
    const next = await call(
      `${server.url}/v1/reports/activity?tenant=bulk&device=dev-001&from=2026-01-01&to=2026-01-01&groupBy=app`,
      { token: OPERATOR_TOKEN },
    );
    expect(next.status).toBe(200);
    expect(next.body.rows).toHaveLength(5);
  }, 120_000);

  it('streams the per-month rollup as CSV', async () => {
    const response = await fetch(
      `${server.url}/v1/reports/activity?tenant=bulk&from=2026-01-01&to=2026-03-31&groupBy=day,device&period=month&format=csv`,
      { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } },
    );
    expect(response.status).toBe(200);
    const [header, ...records] = parseCsv(await response.text());
    expect(header?.[0]).toBe('day');
    expect(records).toHaveLength(3 * 200);
    // January: 31 days × 5 apps of device 1 (idle 1 per row).
    expect(records[0]?.slice(0, 3)).toEqual(['2026-01', 'dev-001', '']);
    expect(records[0]?.[4]).toBe(String(31 * 5));
  }, 120_000);
});
