// What "happened" on a device in the activity-report acceptance tests, driven through the
// built `fieldline-agent` CLI, and the figures it must produce, computed by hand from the
// definitions in docs/analytics.md (deliberately not with aggregateActivity: this is the
// independent check of it).
import { type ActivityReportRow, activityReportSchema } from '@fieldline/core';
import { expect } from 'vitest';
import { runCli } from './support.js';

/** The tenant's aggregation settings, as a fresh tenant has them (no tenant_settings row). */
const MAX_OPEN_INTERVAL_MS = 15 * 60_000;
const TENANT = 'acme';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A JSON call to the admin API with the admin token. */
export async function adminCall(
  baseUrl: string,
  adminToken: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; text: string; contentType: string | null }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type');
  const json = contentType?.includes('application/json') && text !== '' ? JSON.parse(text) : text;
  return { status: response.status, body: json, text, contentType };
}

async function adminOk(
  baseUrl: string,
  adminToken: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const answer = await adminCall(baseUrl, adminToken, path, body);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`${path}: ${answer.status} ${answer.text}`);
  }
  return answer.body;
}

async function agent(args: readonly string[]): Promise<string> {
  const run = await runCli(args);
  if (run.code !== 0) {
    throw new Error(`fieldline-agent ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  }
  return run.stdout;
}

/**
 * Publishes the tenant's policy, enrolls a device with the agent CLI against `enrollUrl`,
 * and grants it consent: from then on its activity and network events are stored.
 *
 * @returns the device id.
 */
export async function enrollConsentingDevice(
  enrollUrl: string,
  adminToken: string,
  stateDir: string,
): Promise<string> {
  await adminOk(enrollUrl, adminToken, '/v1/admin/policies', {
    tenant: TENANT,
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Fieldline records which application is in front, idle time and network volume.',
  });
  const { token } = (await adminOk(enrollUrl, adminToken, '/v1/admin/install-tokens', {
    tenant: TENANT,
  })) as { token: string };
  const stdout = await agent([
    'enroll',
    '--server',
    enrollUrl,
    '--token',
    token,
    '--state-dir',
    stateDir,
    '--hostname',
    'activity-e2e-host',
  ]);
  const deviceId = /device id:\s+(\S+)/.exec(stdout)?.[1];
  if (deviceId === undefined) throw new Error(`no device id in: ${stdout}`);
  await adminOk(enrollUrl, adminToken, `/v1/admin/devices/${deviceId}/consent`, {
    action: 'grant',
  });
  return deviceId;
}

async function track(stateDir: string, type: string, data: object): Promise<void> {
  await agent(['track', type, '--data', JSON.stringify(data), '--state-dir', stateDir]);
}

/**
 * A few seconds of a working day, as the desktop collectors would report them (the test
 * machine is headless, so `track` puts the events in): the editor is launched and focused,
 * the user moves to the browser, goes idle, comes back, and the network counter reports.
 */
export async function actOutAWorkingSpell(stateDir: string): Promise<void> {
  await track(stateDir, 'activity.app.launched', { app: 'editor', pid: 4100 });
  await track(stateDir, 'activity.window.focused', { app: 'editor', pid: 4100 });
  await sleep(1_500);
  await track(stateDir, 'activity.window.focused', {
    app: 'browser',
    pid: 4200,
    previousApp: 'editor',
    previousFocusMs: 1_500,
  });
  await sleep(1_000);
  await track(stateDir, 'activity.system.idle', { idleThresholdMs: 500, activeForMs: 1_000 });
  await sleep(1_000);
  // The agent measures the idle time itself; about threshold + wait. Whether it reaches back
  // before the idle event's own start or not, the union below gives the period.
  await track(stateDir, 'activity.system.active', { idleForMs: 1_600 });
  await track(stateDir, 'activity.network.volume', {
    intervalMs: 4_000,
    bytesIn: 123_456,
    bytesOut: 7_890,
  });
  await agent(['flush', '--state-dir', stateDir]);
}

/** A stored event as the admin events API lists it. */
interface StoredEvent {
  readonly id: string;
  readonly type: string;
  readonly seq: number;
  readonly occurredAt: string;
  readonly data: Record<string, unknown>;
}

/** The device's stored events, from the admin API of the server at `baseUrl`. */
export async function storedActivityEvents(
  baseUrl: string,
  adminToken: string,
  deviceId: string,
): Promise<StoredEvent[]> {
  const { events } = (await adminOk(
    baseUrl,
    adminToken,
    `/v1/admin/devices/${deviceId}/events?limit=100`,
  )) as { events: StoredEvent[] };
  return events.filter((event) => event.type.startsWith('activity.'));
}

type Interval = readonly [start: number, end: number];

/** The union of intervals, as sorted disjoint intervals. */
function union(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

const length = (intervals: readonly Interval[]) =>
  intervals.reduce((sum, [start, end]) => sum + (end - start), 0);

/** How much of `[start, end)` the disjoint `cover` does not cover. */
function uncovered([start, end]: Interval, cover: readonly Interval[]): number {
  let covered = 0;
  for (const [s, e] of cover) covered += Math.max(0, Math.min(end, e) - Math.max(start, s));
  return end - start - covered;
}

/**
 * The report rows `groupBy=app` must show for these events over a range holding all their
 * days, worked out from docs/analytics.md: a focus lasts until the next focus or 15 minutes;
 * an idle event's period starts its threshold before it and lasts until the next
 * `system.active` (or 15 minutes); an active event's `idleForMs` is idle before it; idle time
 * is the union of those periods and is not active time; bytes and idle time are on the `''`
 * row. Days do not matter here: every figure is a sum over days.
 */
export function expectedAppRows(events: readonly StoredEvent[]): ActivityReportRow[] {
  const timeline = events
    .map((event) => ({ ...event, at: Date.parse(event.occurredAt) }))
    .sort((a, b) => a.at - b.at || a.seq - b.seq);
  const focuses = timeline.filter((event) => event.type === 'activity.window.focused');
  const actives = timeline.filter((event) => event.type === 'activity.system.active');
  const idle = union(
    timeline.flatMap((event): Interval[] => {
      if (event.type === 'activity.system.active') {
        return [[event.at - Number(event.data.idleForMs), event.at]];
      }
      if (event.type === 'activity.system.idle') {
        const comeBack = actives.find((active) => active.at >= event.at)?.at ?? Infinity;
        return [
          [
            event.at - Number(event.data.idleThresholdMs),
            Math.min(comeBack, event.at + MAX_OPEN_INTERVAL_MS),
          ],
        ];
      }
      return [];
    }),
  );
  const figures = new Map<string, { activeMs: number; launches: number }>();
  const of = (app: string) => {
    const found = figures.get(app) ?? { activeMs: 0, launches: 0 };
    figures.set(app, found);
    return found;
  };
  focuses.forEach((focus, index) => {
    const next = focuses[index + 1]?.at ?? Infinity;
    const end = Math.min(next, focus.at + MAX_OPEN_INTERVAL_MS);
    of(String(focus.data.app)).activeMs += uncovered([focus.at, end], idle);
  });
  for (const launch of timeline.filter((event) => event.type === 'activity.app.launched')) {
    of(String(launch.data.app)).launches += 1;
  }
  const volumes = timeline.filter((event) => event.type === 'activity.network.volume');
  const device = {
    idleMs: length(idle),
    bytesIn: volumes.reduce((sum, event) => sum + Number(event.data.bytesIn), 0),
    bytesOut: volumes.reduce((sum, event) => sum + Number(event.data.bytesOut), 0),
  };
  const row = (app: string, values: Partial<ActivityReportRow>): ActivityReportRow => ({
    day: null,
    deviceId: null,
    app,
    activeMs: 0,
    idleMs: 0,
    launches: 0,
    bytesIn: 0,
    bytesOut: 0,
    ...values,
  });
  const rows = [row('', device)];
  for (const app of [...figures.keys()].sort()) rows.push(row(app, of(app)));
  return rows;
}

/** The UTC day `offsetDays` from today, `YYYY-MM-DD` (the tenant's zone is UTC by default). */
export function utcDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** The report's query for the days around now, grouped by app, of one device or the tenant. */
export function activityQuery(options: { deviceId?: string; format?: 'json' | 'csv' }): string {
  const query = new URLSearchParams({ tenant: TENANT });
  if (options.deviceId !== undefined) query.set('device', options.deviceId);
  query.set('from', utcDay(-1));
  query.set('to', utcDay(1));
  query.set('groupBy', 'app');
  if (options.format !== undefined) query.set('format', options.format);
  return `/v1/reports/activity?${query}`;
}

/** Reads the JSON activity report, checked against the published schema. */
export async function activityReport(
  baseUrl: string,
  adminToken: string,
  query: string,
): Promise<ActivityReportRow[]> {
  const answer = await adminCall(baseUrl, adminToken, query);
  if (answer.status !== 200) throw new Error(`${query}: ${answer.status} ${answer.text}`);
  return activityReportSchema.parse(answer.body).rows;
}

/** The CSV the report must answer for these rows (docs/analytics.md "Formats"). */
export function expectedCsv(rows: readonly ActivityReportRow[]): string {
  const columns = [
    'day',
    'deviceId',
    'app',
    'activeMs',
    'idleMs',
    'launches',
    'bytesIn',
    'bytesOut',
  ] as const;
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((column) => row[column] ?? '').join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Polls the device's and the tenant's reports (JSON, then CSV) on `reportUrl` until they show
 * exactly `expected`: the consumer fills the aggregates shortly after the batches are stored.
 */
export async function expectReportsToShow(
  reportUrl: string,
  adminToken: string,
  deviceId: string,
  expected: readonly ActivityReportRow[],
): Promise<void> {
  const deviceQuery = activityQuery({ deviceId });
  await expect
    .poll(() => activityReport(reportUrl, adminToken, deviceQuery), {
      timeout: 30_000,
      interval: 250,
    })
    .toEqual(expected);
  const csv = await adminCall(reportUrl, adminToken, activityQuery({ deviceId, format: 'csv' }));
  expect(csv.status).toBe(200);
  expect(csv.contentType).toMatch(/^text\/csv/);
  expect(csv.text).toBe(expectedCsv(expected));
  // The tenant's report (tenant_aggregates): this is the tenant's only device.
  expect(await activityReport(reportUrl, adminToken, activityQuery({}))).toEqual(expected);
}
