// The NATS client is an optional peer dependency, loaded only when a JetStream stream connects:
// embedded deployments never install it. Only internal modules import its types, so the
// published declarations never name it.
import { DatabaseDriverError } from '../db/database-driver-error.js';

/** The two NATS client packages the JetStream stream uses. @internal */
export interface NatsModules {
  readonly transport: typeof import('@nats-io/transport-node');
  readonly jetstream: typeof import('@nats-io/jetstream');
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Imports the NATS client, turning "not installed" into a `driver_missing` error that names
 * the packages to install.
 *
 * @returns both modules.
 * @throws {@link DatabaseDriverError} `driver_missing`.
 * @internal
 */
export async function loadNatsModules(): Promise<NatsModules> {
  try {
    const [transport, jetstream] = await Promise.all([
      import('@nats-io/transport-node'),
      import('@nats-io/jetstream'),
    ]);
    return { transport, jetstream };
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    const install = 'npm install @nats-io/transport-node @nats-io/jetstream';
    throw new DatabaseDriverError(
      'driver_missing',
      `createJetStreamStream uses NATS JetStream, whose client is not installed: run \`${install}\` ` +
        '(optional peer dependencies of @fieldline/server-sdk).',
      { details: { driver: '@nats-io/transport-node', install }, cause: error },
    );
  }
}
