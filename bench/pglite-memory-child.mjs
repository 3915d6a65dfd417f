// The measured process of bench/pglite-memory.mjs: `node pglite-memory-child.mjs <mode> [dir]`
// opens what `mode` names ('node': nothing; 'pglite': a bare PGlite; 'pglite-small': one with
// the shared buffers of src/db/pglite-settings.ts; 'create-database': the server-sdk's database
// with its migrations), prints "ready <ms>", idles, and closes the database on SIGTERM. It
// imports nothing else, so 'node' is the baseline of a bare process.
import { performance } from 'node:perf_hooks';

const [mode, dir] = process.argv.slice(2);
const started = performance.now();
let close = async () => {};
if (mode === 'pglite' || mode === 'pglite-small') {
  const { PGlite } = await import('@electric-sql/pglite');
  const small = ['-c', 'shared_buffers=16MB', '-c', 'maintenance_work_mem=16MB'];
  const pglite = new PGlite(
    dir,
    mode === 'pglite' ? {} : { startParams: [...PGlite.defaultStartParams, ...small] },
  );
  await pglite.waitReady;
  close = () => pglite.close();
} else if (mode === 'create-database') {
  const { createDatabase, migrateToLatest } = await import('@fieldline/server-sdk');
  const database = await createDatabase({ dataDir: dir });
  await migrateToLatest(database.db);
  close = () => database.close();
} else if (mode !== 'node') {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`ready ${Math.round(performance.now() - started)}\n`);
const idle = setInterval(() => {}, 60_000);
process.once('SIGTERM', async () => {
  clearInterval(idle);
  await close();
});
