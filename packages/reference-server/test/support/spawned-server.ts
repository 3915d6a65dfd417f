// The built reference server (dist/cli.js) in a child process, for suites that attack it
// from outside: real sockets, a process that can crash, its memory read from /metrics.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDatabase, type FieldlineDb } from '@fieldline/server-sdk';
import { makeTempDir } from './temp-dir.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Whether the built CLI is there (`npm test` builds it first). */
export const cliBuilt = existsSync(CLI);

export interface SpawnedServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly adminToken: string;
  /** The install token the banner printed (tenant `default`, unused). */
  readonly installToken: string;
  stderr(): string;
  /** The exit code or signal once the process has ended, else undefined. */
  exited(): string | undefined;
  /** The server's resident memory in bytes, as its own `/metrics` reports it. */
  rssBytes(): Promise<number>;
  /** SIGTERM, then the exit; removes the data directory and schema. */
  stop(): Promise<void>;
}

/** Options of {@link spawnServer}. */
export interface SpawnServerOptions {
  /**
   * PostgreSQL to use; the server gets a fresh schema in it (dropped at stop).
   * Without it the server runs on PGlite in a temporary data directory.
   */
  readonly databaseUrl?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
}

/** Starts `fieldline-server start --port 0` and waits until it listens. */
export async function spawnServer(options: SpawnServerOptions = {}): Promise<SpawnedServer> {
  const dir = await makeTempDir();
  const adminToken = `fl_admin_spawned_${randomBytes(12).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FIELDLINE_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  delete env.DATABASE_URL;
  delete env.FIELDLINE_BUS_PREFIX;
  let schemaDb: FieldlineDb | undefined;
  let schema: string | undefined;
  if (options.databaseUrl !== undefined) {
    schema = `spawned_${randomBytes(6).toString('hex')}`;
    schemaDb = await createDatabase({ connectionString: options.databaseUrl, maxConnections: 1 });
    await schemaDb.db.schema.createSchema(schema).execute();
    const withSchema = new URL(options.databaseUrl);
    withSchema.searchParams.set('options', `-c search_path=${schema}`);
    env.DATABASE_URL = withSchema.toString();
  }
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dir.path], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = signal ?? String(code);
      resolve();
    }),
  );
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    // Only the tail is kept: a long suite must not grow the test's own memory.
    stderr = (stderr + chunk.toString('utf8')).slice(-200_000);
  });
  const cleanUp = async () => {
    if (exit === undefined) child.kill('SIGTERM');
    await exited;
    if (schema !== undefined) await schemaDb?.db.schema.dropSchema(schema).cascade().execute();
    await schemaDb?.close();
    await dir.remove();
  };
  // A plain loop, not expect.poll: this runs in beforeAll hooks too.
  const deadline = Date.now() + 45_000;
  while (!/Press Ctrl\+C to stop/.test(stdout)) {
    if (exit !== undefined || Date.now() > deadline) {
      await cleanUp();
      throw new Error(`the server did not start (exit ${exit}); stderr: ${stderr.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
  const installToken = /Install token for tenant "default"[^\n]*\n {2}(fl_install_\S+)/.exec(
    stdout,
  )?.[1];
  if (url === undefined || installToken === undefined) {
    await cleanUp();
    throw new Error(`unexpected banner: ${stdout}`);
  }
  return {
    child,
    url,
    adminToken,
    installToken,
    stderr: () => stderr,
    exited: () => exit,
    async rssBytes() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const match = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
      if (match?.[1] === undefined) throw new Error('no process_resident_memory_bytes in /metrics');
      return Number(match[1]);
    },
    stop: cleanUp,
  };
}
