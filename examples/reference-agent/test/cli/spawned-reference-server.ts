// The built `fieldline-server` CLI as child processes (servers and workers), as an operator
// runs it: real sockets, its own data directory, its database chosen by DATABASE_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { removeDir, tempDir } from './support.js';

// The package's CommonJS entry is dist/index.cjs; the CLI is built beside it.
const SERVER_CLI = join(
  dirname(createRequire(import.meta.url).resolve('@fieldline/reference-server')),
  'cli.js',
);

/** Fails early, with the fix, when the reference server has not been built. */
export function requireBuiltServerCli(): void {
  if (!existsSync(SERVER_CLI)) {
    throw new Error(
      `${SERVER_CLI} is missing: run \`npm run build\` in the repository root (\`npm test\` builds first).`,
    );
  }
}

/** One `fieldline-server` process. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** Everything it printed on stdout. */
  stdout(): string;
  /** The tail of what it printed on stderr (JSON logs). */
  stderr(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exit: Promise<string>;
}

/** Options of {@link spawnServerProcess}. */
export interface SpawnServerProcessOptions {
  /** The command and its options, e.g. `['start', '--port', '0']`; `--data-dir` is added. */
  readonly args: readonly string[];
  /** The admin token (`FIELDLINE_ADMIN_TOKEN`). */
  readonly adminToken: string;
  /** PostgreSQL for this process; unset: embedded PGlite in its data directory. */
  readonly databaseUrl?: string;
  /** More environment variables. */
  readonly env?: Record<string, string>;
}

/** Process handles still to stop, and data directories still to remove. */
const started: ServerProcess[] = [];
const dataDirs: string[] = [];

/** Starts `fieldline-server <args> --data-dir <a fresh temporary directory>`. */
export function spawnServerProcess(options: SpawnServerProcessOptions): ServerProcess {
  const dataDir = tempDir('fl-activity-e2e-server-');
  dataDirs.push(dataDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FIELDLINE_ADMIN_TOKEN: options.adminToken,
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  // The test's own environment must not choose the database or stream behind its back.
  delete env.DATABASE_URL;
  delete env.FIELDLINE_STREAM;
  delete env.FIELDLINE_ANALYTICS;
  if (options.databaseUrl !== undefined) env.DATABASE_URL = options.databaseUrl;
  const child = spawn(process.execPath, [SERVER_CLI, ...options.args, '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-100_000);
  });
  const exit = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  const handle: ServerProcess = { child, stdout: () => stdout, stderr: () => stderr, exit };
  started.push(handle);
  return handle;
}

/** Waits until the process printed `pattern` on stdout; fails with its stderr if it exits. */
export async function waitForOutput(
  server: ServerProcess,
  pattern: RegExp,
  timeoutMs = 45_000,
): Promise<string> {
  let exited: string | undefined;
  void server.exit.then((code) => {
    exited = code;
  });
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(server.stdout())) {
    if (exited !== undefined || Date.now() > deadline) {
      throw new Error(
        `fieldline-server did not print ${pattern} (exit ${exited ?? 'none yet'}); ` +
          `stderr: ${server.stderr().slice(-2000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return server.stdout();
}

/** Waits for the server's banner and returns its base URL. */
export async function serverUrl(server: ServerProcess): Promise<string> {
  const stdout = await waitForOutput(server, /Press Ctrl\+C to stop/);
  const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
  if (url === undefined) throw new Error(`no URL in the banner: ${stdout}`);
  return url;
}

/** SIGTERM to every process started so far, then removes their data directories. */
export async function stopServerProcesses(): Promise<void> {
  const processes = started.splice(0);
  for (const server of processes) server.child.kill('SIGTERM');
  const stopped = await Promise.race([
    Promise.all(processes.map((server) => server.exit)).then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000)),
  ]);
  if (!stopped) {
    for (const server of processes) server.child.kill('SIGKILL');
    await Promise.all(processes.map((server) => server.exit));
  }
  for (const dir of dataDirs.splice(0)) removeDir(dir);
}

/** A fresh admin token for one test. */
export function freshAdminToken(): string {
  return `fl_admin_activity_e2e_${randomBytes(12).toString('hex')}`;
}
