// Starts the example: `npm start -w @fieldline/example-embed-server` (PORT, default 3000).
import { systemClock } from '@fieldline/core';
import { createInstallToken } from '@fieldline/server-sdk';
import { createAppServer } from './app-server.mjs';

const port = Number(process.env.PORT ?? 3000);
const app = await createAppServer(
  process.env.FIELDLINE_ADMIN_TOKEN ? { adminToken: process.env.FIELDLINE_ADMIN_TOKEN } : {},
);
await new Promise((resolve) => app.server.listen(port, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${app.server.address().port}`;
const install = await createInstallToken(app.database.db, {
  tenantId: 'default',
  clock: systemClock,
});

console.log(`my app, with Fieldline mounted, on ${url}`);
console.log(`  ${url}/          -> the app's own route`);
console.log(`  ${url}/healthz   -> Fieldline`);
console.log(`  admin token:     ${app.adminToken}`);
console.log(`  install token:   ${install.token} (tenant "default")`);
console.log('Press Ctrl+C to stop.');

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
