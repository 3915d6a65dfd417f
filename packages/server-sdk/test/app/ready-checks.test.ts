// /readyz with extra checks: listed under `checks`, a degraded or throwing one reported but the
// answer stays 200 (the instance still ingests), none listed without checks.
import { afterEach, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, startTestServer, type TestServer } from '../support/test-server.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describeEachDatabase('readiness checks', (current) => {
  it('answers { status: ready } alone without extra checks', async () => {
    const server = await startTestServer(current().db);
    servers.push(server);
    const ready = await call(`${server.url}/readyz`);
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(ready.body.checks).toBeUndefined();
  });

  it('lists each check; degraded or throwing ones keep the answer 200', async () => {
    let connected = true;
    const server = await startTestServer(current().db, {
      readyChecks: {
        stream: async () => ({
          status: connected ? 'ok' : 'degraded',
          details: { connected, unpublished: connected ? 0 : 7 },
        }),
        flaky: async () => {
          throw new Error('no answer');
        },
      },
    });
    servers.push(server);
    expect(await call(`${server.url}/readyz`)).toMatchObject({
      status: 200,
      body: {
        status: 'ready',
        checks: {
          stream: { status: 'ok', connected: true, unpublished: 0 },
          flaky: { status: 'degraded', error: 'no answer' },
        },
      },
    });
    connected = false;
    expect(await call(`${server.url}/readyz`)).toMatchObject({
      status: 200,
      body: { checks: { stream: { status: 'degraded', connected: false, unpublished: 7 } } },
    });
  });
});
