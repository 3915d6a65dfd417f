#!/usr/bin/env node
import { resolve } from 'node:path';
import { enforceRetention, isAccountError } from '@fieldline/server-sdk';
import { createAccount } from './accounts/create-account.js';
import { formatRetentionReport } from './cli/format-retention-report.js';
// The `fieldline-server` command. The only module that reads the environment,
// prints for people and exits the process; everything else is in startServer.
import { formatStartBanner } from './cli/format-start-banner.js';
import { type CliCommand, parseCliArgs, USAGE } from './cli/parse-cli-args.js';
import { openDatabase } from './db/open-database.js';
import { runMigrations } from './db/run-migrations.js';
import { useBaselineWasmCompiler } from './db/use-baseline-wasm-compiler.js';
import { ensurePrivateDir } from './files/private-files.js';
import { rotateServerKeys } from './identity/server-key-history.js';
import { createLogger } from './logging/create-logger.js';
import { startServer } from './server/start-server.js';
import { parseStreamSetting, type StreamSetting } from './stream/open-event-stream.js';
import { runWorkers } from './worker/run-workers.js';

function fromEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

// Embedded PGlite on V8's baseline WebAssembly compiler, for memory; before it is compiled.
function limitPGliteCompiler(databaseUrl: string | undefined): void {
  if (databaseUrl === undefined && fromEnv('FIELDLINE_PGLITE_OPTIMIZE') !== '1') {
    useBaselineWasmCompiler();
  }
}

function fail(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`fieldline-server: ${message}\n`);
  return 1;
}

async function migrate(dataDir: string): Promise<number> {
  const databaseUrl = fromEnv('DATABASE_URL');
  if (databaseUrl === undefined) await ensurePrivateDir(dataDir);
  limitPGliteCompiler(databaseUrl);
  const database = await openDatabase({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
  try {
    const applied = await runMigrations(database);
    process.stdout.write(
      applied.length === 0
        ? `Database (${database.kind}) is up to date; no migrations to run.\n`
        : applied.map((name) => `Applied migration ${name} (${database.kind})\n`).join(''),
    );
    return 0;
  } finally {
    await database.close();
  }
}

async function retention(dataDir: string): Promise<number> {
  const databaseUrl = fromEnv('DATABASE_URL');
  if (databaseUrl === undefined) await ensurePrivateDir(dataDir);
  limitPGliteCompiler(databaseUrl);
  const database = await openDatabase({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
  try {
    await runMigrations(database);
    process.stdout.write(formatRetentionReport(await enforceRetention(database.db)));
    return 0;
  } finally {
    await database.close();
  }
}

async function rotateKeys(dataDir: string, overlapDays: number): Promise<number> {
  const rotated = await rotateServerKeys(resolve(dataDir), { overlapDays });
  process.stdout.write(
    `Rotated the server keys in ${dataDir}.\n` +
      `  new signing key:      ${rotated.current.signingPublicKey}\n` +
      `  previous signing key: ${rotated.previous.signingPublicKey} (accepted until ${rotated.previousNotAfter})\n` +
      'Restart every server on this data directory to use the new key; agents follow the ' +
      'signed rotation on their next request.\n',
  );
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the shell's (`echo`, a here-string), not the password's.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function userCreate(command: Extract<CliCommand, { kind: 'user-create' }>): Promise<number> {
  const databaseUrl = fromEnv('DATABASE_URL');
  if (databaseUrl === undefined) await ensurePrivateDir(command.dataDir);
  limitPGliteCompiler(databaseUrl);
  const password = command.passwordFromStdin ? await readStdin() : undefined;
  const database = await openDatabase({
    dataDir: command.dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
  });
  try {
    await runMigrations(database);
    const { user, generatedPassword } = await createAccount(database, {
      email: command.email,
      role: command.role,
      ...(command.tenant === undefined ? {} : { tenant: command.tenant }),
      ...(password === undefined ? {} : { password }),
    });
    const scope = command.tenant === undefined ? 'every tenant' : `tenant "${command.tenant}"`;
    process.stdout.write(
      `Created ${command.role} ${user.email} (${user.id}) for ${scope}.\n` +
        (generatedPassword === undefined
          ? ''
          : `  password: ${generatedPassword}\n  (generated now and shown once; change it after logging in)\n`),
    );
    return 0;
  } catch (error) {
    if (!isAccountError(error)) throw error;
    process.stderr.write(`fieldline-server: ${error.message}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

// Flags win over the environment; a certificate without its key (or the reverse) is a mistake.
function tlsFiles(
  command: Extract<CliCommand, { kind: 'start' }>,
): { readonly certFile: string; readonly keyFile: string } | string | undefined {
  const certFile = command.tlsCertFile ?? fromEnv('FIELDLINE_TLS_CERT');
  const keyFile = command.tlsKeyFile ?? fromEnv('FIELDLINE_TLS_KEY');
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    return 'TLS needs both a certificate and its key: give --tls-cert and --tls-key (or FIELDLINE_TLS_CERT and FIELDLINE_TLS_KEY).';
  }
  return { certFile, keyFile };
}

// The flag wins; FIELDLINE_ANALYTICS=off is for deployments that set the environment only.
function analyticsEnabled(command: Extract<CliCommand, { kind: 'start' }>): boolean | string {
  if (command.noAnalytics === true) return false;
  const value = fromEnv('FIELDLINE_ANALYTICS')?.toLowerCase();
  if (value === undefined || value === 'on') return true;
  if (value === 'off') return false;
  return `FIELDLINE_ANALYTICS must be "on" or "off"; got "${fromEnv('FIELDLINE_ANALYTICS')}".`;
}

// The flag wins over FIELDLINE_STREAM; a bad value is a usage error (a message, not a throw).
function streamSetting(
  flag: string | undefined,
): { readonly setting: StreamSetting } | { readonly error: string } {
  try {
    return { setting: parseStreamSetting(flag ?? fromEnv('FIELDLINE_STREAM') ?? 'embedded') };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

// Resolves once SIGINT or SIGTERM asks the process to stop; a second signal exits at once.
function stopSignal(logger: ReturnType<typeof createLogger>, stop: () => Promise<unknown>) {
  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        // A second Ctrl+C means "now": skip waiting for in-flight work.
        logger.warn({ signal }, 'second signal; exiting without waiting');
        resolveExit(1);
        return;
      }
      logger.info({ signal }, 'signal received');
      stop().then(
        () => resolveExit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolveExit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function worker(command: Extract<CliCommand, { kind: 'worker' }>): Promise<number> {
  const chosen = streamSetting(command.stream);
  if ('error' in chosen) {
    process.stderr.write(`fieldline-server: ${chosen.error}\n\n${USAGE}`);
    return 2;
  }
  const stream = chosen.setting;
  const logger = createLogger({ level: fromEnv('LOG_LEVEL') ?? 'info' });
  const databaseUrl = fromEnv('DATABASE_URL');
  if (databaseUrl === undefined) await ensurePrivateDir(command.dataDir);
  limitPGliteCompiler(databaseUrl);
  const webhookKey = fromEnv('FIELDLINE_WEBHOOK_KEY');
  const workers = await runWorkers({
    names: command.names,
    dataDir: command.dataDir,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    stream,
    logger,
    ...(webhookKey === undefined ? {} : { webhookKey }),
    allowPrivateWebhookUrls: fromEnv('FIELDLINE_ALLOW_PRIVATE_WEBHOOK_URLS') === '1',
  });
  const exitCode = stopSignal(logger, () => workers.stop());
  process.stdout.write(
    `Workers running: ${workers.names.join(', ')}. Send SIGTERM or press Ctrl+C to stop.\n`,
  );
  return exitCode;
}

async function start(command: Extract<CliCommand, { kind: 'start' }>): Promise<number> {
  const { port, host, dataDir } = command;
  const tls = tlsFiles(command);
  if (typeof tls === 'string') {
    process.stderr.write(`fieldline-server: ${tls}\n\n${USAGE}`);
    return 2;
  }
  const analytics = analyticsEnabled(command);
  if (typeof analytics === 'string') {
    process.stderr.write(`fieldline-server: ${analytics}\n\n${USAGE}`);
    return 2;
  }
  const chosen = streamSetting(command.stream);
  if ('error' in chosen) {
    process.stderr.write(`fieldline-server: ${chosen.error}\n\n${USAGE}`);
    return 2;
  }
  const stream = chosen.setting;
  const logger = createLogger({ level: fromEnv('LOG_LEVEL') ?? 'info' });
  const databaseUrl = fromEnv('DATABASE_URL');
  const adminToken = fromEnv('FIELDLINE_ADMIN_TOKEN');
  const busChannelPrefix = fromEnv('FIELDLINE_BUS_PREFIX');
  const webhookKey = fromEnv('FIELDLINE_WEBHOOK_KEY');
  const allowPrivateWebhookUrls = fromEnv('FIELDLINE_ALLOW_PRIVATE_WEBHOOK_URLS') === '1';
  const trustedProxies = (fromEnv('FIELDLINE_TRUSTED_PROXIES') ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
  limitPGliteCompiler(databaseUrl);
  const server = await startServer({
    port,
    host,
    dataDir,
    logger,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(busChannelPrefix === undefined ? {} : { busChannelPrefix }),
    ...(webhookKey === undefined ? {} : { webhookKey }),
    allowPrivateWebhookUrls,
    trustedProxies,
    ...(tls === undefined ? {} : { tls }),
    analytics,
    stream,
    ...(command.relay === false ? { relay: false } : {}),
  });
  // Listening for signals before the banner says "Press Ctrl+C": a signal sent as soon as the
  // banner is read must find the handler in place, not Node's default (exit by signal).
  const exitCode = stopSignal(logger, () => server.stop());
  const installToken = await server.issueInstallToken('default');
  const setupLink = await server.issueSetupLink();
  process.stdout.write(
    formatStartBanner({ server, installToken, ...(setupLink === undefined ? {} : { setupLink }) }),
  );
  return exitCode;
}

async function main(argv: readonly string[]): Promise<number> {
  const command = parseCliArgs(argv);
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'usage-error':
      process.stderr.write(`fieldline-server: ${command.message}\n\n${USAGE}`);
      return 2;
    case 'migrate':
      return migrate(command.dataDir);
    case 'retention':
      return retention(command.dataDir);
    case 'start':
      return start(command);
    case 'rotate-keys':
      return rotateKeys(command.dataDir, command.overlapDays);
    case 'worker':
      return worker(command);
    case 'user-create':
      return userCreate(command);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(fail(error)),
);
