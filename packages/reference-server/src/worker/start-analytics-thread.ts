import type { AnalyticsConsumer, StreamLag } from '@fieldline/server-sdk';
import type { ServerStartError } from '../errors/server-start-error.js';
import type { ServerLogger } from '../logging/create-logger.js';
import type { StreamSetting } from '../stream/open-event-stream.js';
import { startWorkerThread } from './start-worker-thread.js';

/**
 * The analytics consumer of `fieldline-server worker analytics`, run in a worker thread of the
 * server ({@link startWorkerThread}), seen from the server as an {@link AnalyticsConsumer}: its
 * lag is read from the stream the server has open, `stop()` stops the thread.
 *
 * @param options - where the thread connects, how the server reads the consumer's lag, logger.
 * @returns the consumer, once the thread's consumer started.
 * @throws {@link ServerStartError} `invalid_option` when it cannot start.
 */
export async function startAnalyticsThread(options: {
  readonly dataDir: string;
  readonly databaseUrl: string;
  readonly stream: StreamSetting;
  readonly lag: (name: string) => Promise<StreamLag>;
  readonly logger: ServerLogger;
}): Promise<AnalyticsConsumer> {
  const thread = await startWorkerThread(
    {
      names: ['analytics'],
      dataDir: options.dataDir,
      databaseUrl: options.databaseUrl,
      stream: options.stream,
    },
    options.logger,
  );
  return {
    name: 'analytics',
    lag: () => options.lag('analytics'),
    stop: () => thread.stop(),
  };
}
