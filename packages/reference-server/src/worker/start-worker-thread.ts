import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ServerStartError } from '../errors/server-start-error.js';
import type { ServerLogger } from '../logging/create-logger.js';
import type { WorkerThreadData, WorkerThreadMessage } from './worker-thread-protocol.js';

/** Workers running in a thread of this process, from {@link startWorkerThread}. */
export interface WorkerThread {
  /** Stops the workers (finishing the work in flight), then the thread. */
  stop(): Promise<void>;
}

// Bundled, the entry sits beside this code in dist/; run from src/ (tests), it is the build's.
function threadEntry(): string {
  const candidates = [
    new URL('./worker-thread-main.js', import.meta.url),
    new URL('../../dist/worker-thread-main.js', import.meta.url),
  ].map((url) => fileURLToPath(url));
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new ServerStartError(
      'invalid_option',
      'The worker thread entry (dist/worker-thread-main.js) is missing: run `npm run build`.',
    );
  }
  return found;
}

/**
 * Runs workers (`fieldline-server worker` names) in a worker thread of this process, on their
 * own event loop and database pool: the reference server runs its analytics consumer this way
 * on PostgreSQL, so adding batches to the aggregates never waits behind request handling on
 * one event loop (and gets a core of its own). The thread logs through `logger`.
 *
 * @param data - the workers and where they connect (PostgreSQL only: PGlite is one connection
 *   owned by the main thread).
 * @param logger - where the thread's log lines go.
 * @returns the running thread, once its workers started.
 * @throws {@link ServerStartError} `invalid_option` when the workers cannot start.
 */
export async function startWorkerThread(
  data: WorkerThreadData,
  logger: ServerLogger,
): Promise<WorkerThread> {
  const worker = new Worker(threadEntry(), { workerData: data });
  let stopped: (() => void) | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (message: WorkerThreadMessage) => {
      switch (message.type) {
        case 'ready':
          resolve();
          break;
        case 'failed':
          reject(new ServerStartError('invalid_option', message.message));
          break;
        case 'stopped':
          stopped?.();
          break;
        case 'log':
          logger[message.level](message.fields, message.message);
          break;
      }
    });
    worker.once('error', (error) => {
      logger.error({ err: error }, 'worker thread failed');
      reject(error);
    });
    worker.once('exit', (code) => reject(new Error(`the worker thread exited (${code})`)));
  });
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        const done = new Promise<void>((resolve) => {
          stopped = resolve;
        });
        worker.postMessage({ type: 'stop' });
        const timer = setTimeout(() => void worker.terminate(), 30_000);
        await Promise.race([done, exited]);
        clearTimeout(timer);
        await worker.terminate();
      })();
      return stopping;
    },
  };
}
