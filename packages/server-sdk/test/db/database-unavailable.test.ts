// Which failures mean "the database is away" (503 + Retry-After) and which stay bugs (500):
// real errors from `pg` where they can be made here, PostgreSQL's SQLSTATEs otherwise.
import { createServer, type Socket } from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-database.js';
import {
  databaseUnavailable,
  isDatabaseUnavailableError,
} from '../../src/db/database-unavailable.js';
import { createRouter } from '../../src/http/router.js';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

describe('isDatabaseUnavailableError', () => {
  it('recognises a refused connection from pg, a dual-stack AggregateError and a cause chain', async () => {
    const port = await closedPort();
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
    const refused = await client.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isDatabaseUnavailableError(refused)).toBe(true);
    const aggregate = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]);
    expect(isDatabaseUnavailableError(aggregate)).toBe(true);
    expect(isDatabaseUnavailableError(new Error('wrapped', { cause: refused }))).toBe(true);
  });

  it('recognises the SQLSTATEs and messages of a server going away', () => {
    for (const code of ['57P01', '57P02', '57P03', '57P05', '53300', '08006', '08001', '08P01']) {
      expect(isDatabaseUnavailableError(Object.assign(new Error('x'), { code }))).toBe(true);
    }
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'Client has encountered a connection error and is not queryable',
      'database "x" is not currently accepting connections',
    ]) {
      expect(isDatabaseUnavailableError(new Error(message))).toBe(true);
    }
  });

  it('leaves bugs and refused statements alone', () => {
    for (const code of ['23505', '42P01', '22P02', '40001', 'ERR_INVALID_ARG_TYPE']) {
      expect(isDatabaseUnavailableError(Object.assign(new Error('x'), { code }))).toBe(false);
    }
    expect(isDatabaseUnavailableError(new TypeError('undefined is not a function'))).toBe(false);
    expect(isDatabaseUnavailableError(undefined)).toBe(false);
    expect(isDatabaseUnavailableError('Connection terminated')).toBe(false);
    // A cycle of causes ends.
    const looped: Error & { cause?: unknown } = new Error('loop');
    looped.cause = looped;
    expect(isDatabaseUnavailableError(looped)).toBe(false);
  });
});

describe('a database that does not answer at all', () => {
  it('fails the query after connectTimeoutMs, as unavailable, instead of hanging', async () => {
    // Accepts the TCP connection and never says a word, like a host behind a dropped route.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const database = await createDatabase({
      connectionString: `postgres://postgres@127.0.0.1:${port}/x`,
      connectTimeoutMs: 200,
    });
    try {
      const failure = await sql`select 1`.execute(database.db).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isDatabaseUnavailableError(failure)).toBe(true);
    } finally {
      await database.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('the router and a database outage', () => {
  it('answers 503 unavailable with Retry-After, reports it apart from bugs, and 500 for the rest', async () => {
    const errors: unknown[] = [];
    const outages: unknown[] = [];
    const router = createRouter(
      [
        {
          method: 'GET',
          path: '/away',
          handle: async () => {
            throw Object.assign(new Error('terminating connection due to administrator command'), {
              code: '57P01',
            });
          },
        },
        {
          method: 'GET',
          path: '/bug',
          handle: async () => {
            throw new TypeError('oops');
          },
        },
      ],
      { onError: (error) => errors.push(error), onUnavailable: (error) => outages.push(error) },
    );
    const request = (path: string) =>
      router.handle({
        method: 'GET',
        path,
        query: new URLSearchParams(),
        header: () => undefined,
        body: new Uint8Array(),
      });
    const away = await request('/away');
    expect(away.status).toBe(503);
    expect(away.headers).toMatchObject({ 'retry-after': '5' });
    expect(away.body).toEqual(databaseUnavailable(undefined).toBody());
    expect(away.body).toMatchObject({ error: { code: 'unavailable' } });
    expect(outages).toHaveLength(1);
    const bug = await request('/bug');
    expect(bug.status).toBe(500);
    expect(errors).toHaveLength(1);
  });
});
