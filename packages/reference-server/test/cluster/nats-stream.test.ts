// Two built CLI servers on one PostgreSQL schema with NATS JetStream (a private nats-server),
// and a `fieldline-server worker relay tail` process: batches ingested on either server reach
// the worker's consumer; with NATS killed, ingestion still answers 200, /readyz stays 200 and
// says the stream is degraded, the metrics show the backlog; once NATS is back, the relays
// catch up and the consumer sees the batch. Needs TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PrivateNats,
  startPrivateNats,
} from '../../../server-sdk/test/support/nats-server.js';
import {
  clusterTestsEnabled,
  type Instance,
  listening,
  useClusterSchema,
} from '../support/cluster.js';
import { enrollOutageDevice, request } from '../support/outage.js';

// The batch ids the worker's `tail` consumer logged (JSON lines on stderr).
function tailedBatchIds(worker: Instance): string[] {
  const ids: string[] = [];
  for (const line of worker.stderr.split('\n')) {
    if (!line.includes('"stream record"')) continue;
    const parsed = JSON.parse(line) as { record?: { payload?: { batchId?: string } } };
    const id = parsed.record?.payload?.batchId;
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

// CI sets TEST_NATS_URL (and installs nats-server); this suite starts a private nats-server.
describe.skipIf(!clusterTestsEnabled || !process.env.TEST_NATS_URL)(
  'reference servers and a worker on NATS JetStream',
  () => {
    const cluster = useClusterSchema('fl_nats');
    let nats: PrivateNats | undefined;
    beforeAll(async () => {
      nats = await startPrivateNats();
    });
    afterAll(async () => {
      await nats?.dispose();
    });

    it('delivers batches ingested on either server to a worker process, through NATS outages', async () => {
      const natsUrl = (nats as PrivateNats).url;
      const env = { FIELDLINE_STREAM: natsUrl };
      const a = await cluster.start({ env });
      const baseA = await listening(a);
      const b = await cluster.start({ env });
      const baseB = await listening(b);
      const worker = await cluster.start({
        command: ['worker', 'tail', 'relay'],
        env: { ...env, LOG_LEVEL: 'info' },
      });
      await expect
        .poll(() => worker.stdout, { timeout: 30_000, message: worker.stderr.slice(-2000) })
        .toMatch(/Workers running: tail, relay/);

      const device = await enrollOutageDevice(baseA);
      const posted = await device.post(device.events(3));
      expect(posted.status).toBe(200);
      const deviceB = await enrollOutageDevice(baseB);
      expect((await deviceB.post(deviceB.events(2))).status).toBe(200);
      const readyB = await request(`${baseB}/readyz`);
      expect(readyB.body).toEqual({
        status: 'ready',
        checks: { stream: expect.objectContaining({ status: 'ok', connected: true }) },
      });
      await expect.poll(() => tailedBatchIds(worker).length, { timeout: 20_000 }).toBe(2);

      await (nats as PrivateNats).stop();
      const during = await device.post(device.events(2));
      expect(during.status).toBe(200);
      await expect
        .poll(async () => (await request(`${baseA}/readyz`)).body.checks?.stream?.status, {
          timeout: 20_000,
        })
        .toBe('degraded');
      const ready = await request(`${baseA}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.body.checks.stream).toMatchObject({ connected: false, unpublished: 1 });
      const metrics = await fetch(`${baseA}/metrics`).then((response) => response.text());
      expect(metrics).toMatch(/^fieldline_stream_connected 0$/m);
      expect(metrics).toMatch(/^fieldline_outbox_unpublished 1$/m);
      expect(tailedBatchIds(worker)).toHaveLength(2);

      await (nats as PrivateNats).start();
      await expect.poll(() => tailedBatchIds(worker).length, { timeout: 30_000 }).toBe(3);
      expect(new Set(tailedBatchIds(worker)).size).toBe(3);
      await expect
        .poll(async () => (await request(`${baseB}/readyz`)).body.checks?.stream?.status, {
          timeout: 20_000,
        })
        .toBe('ok');

      worker.child.kill('SIGTERM');
      expect(await worker.exit).toBe(0);
    }, 120_000);
  },
);
