// An existing app's server with Fieldline mounted in it. The app keeps its own
// routes; every other request goes to the Fieldline API, which answers its own
// paths (/v1/..., /healthz, /readyz) and a JSON 404 for the rest.
import { createServer } from 'node:http';
import { generateIdentity } from '@fieldline/core';
import {
  createDatabase,
  createFieldlineApp,
  generateSecretToken,
  migrateToLatest,
  toNodeListener,
} from '@fieldline/server-sdk';

// The app's own routes: a tiny hand-rolled router, standing in for whatever the app uses.
const appRoutes = {
  'GET /': (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('my app\n');
  },
};

/**
 * Builds the combined server. Nothing is persisted: the database lives in
 * memory and the server identity is new on every start, so agents enrolled
 * against one run cannot talk to the next. A real app stores the identity
 * (core's exportIdentity/importIdentity) and uses PostgreSQL or a PGlite
 * directory.
 */
export async function createAppServer({ adminToken = generateSecretToken('fl_admin') } = {}) {
  const database = await createDatabase({ dataDir: 'memory://' });
  await migrateToLatest(database.db);
  const fieldline = createFieldlineApp({
    db: database.db,
    serverIdentity: await generateIdentity(),
    adminCredentials: [{ token: adminToken }],
    onError: (error, request) =>
      console.error('fieldline error', request.method, request.path, error),
  });
  const fieldlineListener = toNodeListener(fieldline);

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const own = appRoutes[`${request.method} ${path}`];
    if (own !== undefined) own(request, response);
    else fieldlineListener(request, response);
  });

  return {
    server,
    adminToken,
    fieldline,
    database,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await database.close();
    },
  };
}
