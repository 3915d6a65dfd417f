// A nats-server with JetStream of the test's own (free port, temporary store), which the test
// may kill and start again on the same port and store. Needs the nats-server binary (CI
// installs it; see .ci/run).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
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

export interface PrivateNats {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const binary = [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server']
    .filter((path): path is string => path !== undefined)
    .find((path) => existsSync(path));
  if (binary === undefined) {
    throw new Error(
      'nats-server is not installed: `apt-get install nats-server` (or set NATS_SERVER_BIN).',
    );
  }
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'fieldline-nats-'));
  let child: ChildProcess | undefined;
  async function start(): Promise<void> {
    const proc = spawn(
      binary as string,
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
      {
        stdio: 'ignore',
      },
    );
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
