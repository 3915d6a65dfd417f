// NATS for the JetStream tests. The shared server is TEST_NATS_URL (CI sets it), else the one
// answering on 127.0.0.1:4222. Tests that stop NATS start their own nats-server on a free port
// with a private store directory, so they can kill and restart it without touching anyone else.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEFAULT_URL = 'nats://127.0.0.1:4222';

/**
 * Whether the NATS suites run: when TEST_NATS_URL is set. CI sets it (and starts nats-server),
 * so they never skip there; on a laptop without NATS, `npm test` runs everything else.
 */
export const natsTestsEnabled = Boolean(process.env.TEST_NATS_URL);

function answers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** The nats-server binary, or a clear failure (tests never skip silently). */
export function natsServerBinary(): string {
  const candidates = [
    process.env.NATS_SERVER_BIN,
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  const found = candidates.find((path) => path !== undefined && existsSync(path));
  if (found === undefined) {
    throw new Error(
      'nats-server is not installed: `apt-get install nats-server` (or set NATS_SERVER_BIN).',
    );
  }
  return found;
}

/** The shared NATS with JetStream: TEST_NATS_URL, else 127.0.0.1:4222, which must answer. */
export async function sharedNatsUrl(): Promise<string> {
  const url = process.env.TEST_NATS_URL ?? DEFAULT_URL;
  const { hostname, port } = new URL(url);
  if (!(await answers(Number(port || 4222), hostname))) {
    throw new Error(
      `NATS is unreachable at ${url}. Start it: start-stop-daemon --start --oknodo --background ` +
        '--exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server',
    );
  }
  return url;
}

/** A stream name and subject prefix no other test uses. */
export function uniqueStreamNames(label: string): { stream: string; subjectPrefix: string } {
  const id = randomBytes(5).toString('hex');
  return { stream: `T_${label}_${id}`.toUpperCase(), subjectPrefix: `t${id}` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}

/** A nats-server of this test's own, which it may stop and start again on the same port. */
export interface PrivateNats {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** Starts a private nats-server with JetStream on a free port and a temporary store. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const binary = natsServerBinary();
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'fieldline-nats-'));
  let child: ChildProcess | undefined;
  async function start(): Promise<void> {
    const proc = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: 'ignore',
    });
    child = proc;
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error('nats-server did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
