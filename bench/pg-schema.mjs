// A private PostgreSQL schema for one bench run: created before, dropped after, with a
// connection string whose search_path points at it and a client already connected to it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Runs `fn({ databaseUrl, client })` in a fresh schema of `pgUrl`'s database. */
export async function withSchema(pgUrl, fn) {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  const schema = `fl_bench_${randomBytes(5).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  const url = new URL(pgUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn({ databaseUrl: url.toString(), client });
  } finally {
    await client.end();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}
