// Reference-server CLI processes sharing one PostgreSQL schema, for cluster tests, and an
// admin-stream reader. Only used when TEST_DATABASE_URL is set.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDatabase, type FieldlineDb } from '@fieldline/server-sdk';
import { afterAll, beforeAll, expect } from 'vitest';
import { makeTempDir } from './temp-dir.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const url = process.env.TEST_DATABASE_URL;
export const ADMIN_TOKEN = `fl_admin_cluster_test_${randomBytes(12).toString('hex')}`;

/** The URL with `search_path` set to `schema` for every connection. */
export function withSchema(connectionString: string, schema: string): string {
  const parsed = new URL(connectionString);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

export interface Instance {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

/** What else an instance runs with: the command's arguments and environment variables. */
export interface InstanceExtras {
  /** Replaces `start --port 0` (e.g. `['worker', 'relay']`); `--data-dir` is added. */
  readonly command?: readonly string[];
  readonly env?: Record<string, string>;
}

export function startInstance(
  dataDir: string,
  databaseUrl: string,
  extras: InstanceExtras = {},
): Instance {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    FIELDLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    ...extras.env,
  };
  delete env.FIELDLINE_BUS_PREFIX;
  const command = extras.command ?? ['start', '--port', '0'];
  const child = spawn(process.execPath, [CLI, ...command, '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const instance: Instance = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    instance.stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    instance.stderr += chunk.toString('utf8');
  });
  return instance;
}

export async function listening(instance: Instance): Promise<string> {
  await expect
    .poll(() => instance.stdout, {
      timeout: 45_000,
      interval: 100,
      message: `the server did not start; stderr: ${instance.stderr.slice(-2000)}`,
    })
    .toMatch(/Press Ctrl\+C to stop/);
  const base = /listening on (http:\/\/\S+)/.exec(instance.stdout)?.[1];
  if (base === undefined) throw new Error(`no URL in: ${instance.stdout}`);
  return base;
}

export interface Stream {
  readonly response: IncomingMessage;
  text(): string;
  close(): void;
}

export function openStream(streamUrl: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(
      streamUrl,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        resolve({ response: res, text: () => text, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Whether the cluster suites can run: PostgreSQL configured and the CLI built. */
export const clusterTestsEnabled = url !== undefined && url !== '' && existsSync(CLI);

/** The install token the CLI printed at first start. */
export function printedInstallToken(instance: Instance): string {
  const token = /Install token for tenant "default"[^\n]*\n {2}(fl_install_\S+)/.exec(
    instance.stdout,
  )?.[1];
  if (token === undefined) throw new Error(`no install token in: ${instance.stdout}`);
  return token;
}

/** A fresh schema name for one suite. */
export const freshSchema = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;

/**
 * Registers a fresh PostgreSQL schema for the suite (dropped afterwards) and returns a
 * starter of CLI instances on it, each in its own data directory; every instance is killed
 * and every directory removed after the suite.
 */
export function useClusterSchema(prefix: string) {
  const schema = freshSchema(prefix);
  let admin: FieldlineDb | undefined;
  const instances: Instance[] = [];
  const dirs: Array<Awaited<ReturnType<typeof makeTempDir>>> = [];
  beforeAll(async () => {
    admin = await createDatabase({ connectionString: url as string, maxConnections: 1 });
    try {
      await admin.db.schema.createSchema(schema).execute();
    } catch (error) {
      throw new Error(
        `TEST_DATABASE_URL is set but PostgreSQL is unreachable at ${url} (${(error as Error).message}).`,
      );
    }
  });
  afterAll(async () => {
    for (const instance of instances) instance.child.kill('SIGKILL');
    await Promise.all(instances.map((instance) => instance.exit));
    await admin?.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await admin?.close();
    await Promise.all(dirs.map((dir) => dir.remove()));
  });
  return {
    /** Starts one more instance on the suite's schema. */
    async start(extras: InstanceExtras = {}): Promise<Instance> {
      const dir = await makeTempDir();
      dirs.push(dir);
      const instance = startInstance(dir.path, withSchema(url as string, schema), extras);
      instances.push(instance);
      return instance;
    },
  };
}
