// Two built CLI processes on one PostgreSQL schema: an admin change on instance A reaches the
// admin stream of instance B through the LISTEN/NOTIFY bus (docs/protocol.md §4.8, §4.9).
// Runs only when TEST_DATABASE_URL is set; `npm test` builds dist first.
import { describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  clusterTestsEnabled,
  listening,
  openStream,
  printedInstallToken,
  useClusterSchema,
} from '../support/cluster.js';
import { enrollBody, postJson } from '../support/http.js';

describe.skipIf(!clusterTestsEnabled)('two reference servers on one PostgreSQL database', () => {
  const cluster = useClusterSchema('fl_rs_bus');

  it('relays a consent change made on A to the admin stream of B within 1 s', async () => {
    // Started together, so both run the migrations at once on the empty schema.
    const [a, b] = await Promise.all([cluster.start(), cluster.start()]);
    const [urlA, urlB] = await Promise.all([listening(a), listening(b)]);

    const stream = await openStream(`${urlB}/v1/admin/stream`);
    try {
      expect(stream.response.statusCode).toBe(200);
      await expect.poll(() => stream.text(), { timeout: 1000 }).toMatch(/^: connected\n/);

      const installToken = printedInstallToken(a);
      const enrolled = await postJson(`${urlA}/v1/enroll`, installToken, await enrollBody());
      expect(enrolled.status).toBe(201);
      const deviceId = enrolled.body.deviceId as string;

      const policy = await postJson(`${urlA}/v1/admin/policies`, ADMIN_TOKEN, {
        tenant: 'default',
        version: 1,
        scopes: ['activity'],
        text: 'We collect activity to keep the fleet healthy.',
      });
      expect(policy.status).toBe(201);

      const granted = await postJson(
        `${urlA}/v1/admin/devices/${encodeURIComponent(deviceId)}/consent`,
        ADMIN_TOKEN,
        { action: 'grant', scopes: ['activity'] },
      );
      expect(granted.status).toBe(200);
      const changedAt = Date.now();
      const grantEvent = new RegExp(
        `event: consent\\ndata: (\\{[^\\n]*"deviceId":"${deviceId}"[^\\n]*"status":"granted"[^\\n]*\\})\\n\\n`,
      );
      await expect.poll(() => stream.text(), { timeout: 1000, interval: 10 }).toMatch(grantEvent);
      expect(Date.now() - changedAt).toBeLessThan(1000);
      const data = JSON.parse(grantEvent.exec(stream.text())?.[1] ?? '{}');
      expect(data).toMatchObject({
        deviceId,
        tenantId: 'default',
        consent: { status: 'granted', policyVersion: 1, scopes: ['activity'] },
      });
    } finally {
      stream.close();
    }

    // Both shut down cleanly, bus connections included.
    for (const instance of [a, b]) instance.child.kill('SIGTERM');
    expect(await a.exit, a.stderr.slice(-2000)).toBe(0);
    expect(await b.exit, b.stderr.slice(-2000)).toBe(0);
  });
});
