// The entry of a worker thread started by `startWorkerThread`: runs the named workers on their
// own event loop and database pool, logs through the parent's logger, stops when told.
import { parentPort, workerData } from 'node:worker_threads';
import type { ServerLogger } from '../logging/create-logger.js';
import { runWorkers } from './run-workers.js';
import type { WorkerThreadData, WorkerThreadMessage } from './worker-thread-protocol.js';

if (parentPort === null) throw new Error('worker-thread-main runs only as a worker thread');
const port = parentPort;
const data = workerData as WorkerThreadData;
const post = (message: WorkerThreadMessage) => port.postMessage(message);

const logger: ServerLogger = {
  debug: (fields, message) => post({ type: 'log', level: 'debug', fields, message }),
  info: (fields, message) => post({ type: 'log', level: 'info', fields, message }),
  warn: (fields, message) => post({ type: 'log', level: 'warn', fields, message }),
  error: (fields, message) => post({ type: 'log', level: 'error', fields, message }),
};

async function main(): Promise<void> {
  try {
    const workers = await runWorkers({ ...data, logger });
    port.on('message', (message: { type: string }) => {
      if (message.type !== 'stop') return;
      workers.stop().then(
        () => {
          post({ type: 'stopped' });
          port.close();
        },
        (error: unknown) => {
          post({
            type: 'log',
            level: 'warn',
            fields: { err: error },
            message: 'worker stop failed',
          });
          post({ type: 'stopped' });
          port.close();
        },
      );
    });
    post({ type: 'ready' });
  } catch (error) {
    post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    port.close();
  }
}

void main();
