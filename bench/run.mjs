// `npm run bench [-- suite]`: runs one benchmark suite, or all of them.
import os from 'node:os';

const suites = {
  core: () => import('./core.mjs'),
  ingest: () => import('./ingest.mjs'),
  agent: () => import('./agent.mjs'),
  ws: () => import('./ws.mjs'),
  'pglite-memory': () => import('./pglite-memory.mjs'),
  analytics: () => import('./analytics.mjs'),
};
const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = requested.length > 0 ? requested : Object.keys(suites);
const unknown = names.filter((n) => !(n in suites));
if (unknown.length > 0) {
  console.error(
    `Unknown bench suite(s): ${unknown.join(', ')}. Available: ${Object.keys(suites).join(', ')}`,
  );
  process.exit(2);
}
console.log(
  `Fieldline bench — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}`,
);
for (const name of names) {
  const suite = await suites[name]();
  await suite.run();
}
