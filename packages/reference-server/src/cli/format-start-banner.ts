import { join } from 'node:path';
import type { RunningServer } from '../server/start-server.js';

/** What the banner needs besides the running server. */
export interface StartBannerInput {
  /** The running server. */
  readonly server: Pick<
    RunningServer,
    | 'url'
    | 'dataDir'
    | 'databaseKind'
    | 'adminToken'
    | 'adminTokenSource'
    | 'migrationsApplied'
    | 'tls'
  >;
  /** A fresh install token for the `default` tenant. */
  readonly installToken: { readonly token: string; readonly expiresAt: string };
  /** The first-run link that creates the owner, while no account exists. */
  readonly setupLink?: { readonly url: string; readonly expiresAt: string };
}

/**
 * The text `fieldline-server start` prints on stdout for people: where the
 * server listens, the admin token when it was just generated (never again
 * after), an install token to enroll a first device with, and while no account
 * exists the first-run link that creates the owner.
 *
 * @param input - the running server and the install token.
 * @returns the banner, ending with a newline.
 * @example
 * ```ts
 * process.stdout.write(formatStartBanner({ server, installToken }));
 * ```
 */
export function formatStartBanner(input: StartBannerInput): string {
  const { server, installToken } = input;
  const database =
    server.databaseKind === 'postgres'
      ? 'PostgreSQL (DATABASE_URL)'
      : `PGlite in ${join(server.dataDir, 'db')}`;
  const admin =
    server.adminTokenSource === 'generated'
      ? [
          `  admin token:  ${server.adminToken}`,
          `                (generated now and saved in ${join(server.dataDir, 'admin-token')};`,
          '                 it is not printed again — set FIELDLINE_ADMIN_TOKEN to choose your own)',
        ]
      : server.adminTokenSource === 'file'
        ? [`  admin token:  kept in ${join(server.dataDir, 'admin-token')}`]
        : ['  admin token:  from FIELDLINE_ADMIN_TOKEN'];
  const lines = [
    `Fieldline server listening on ${server.url}`,
    `  database:     ${database}`,
    `  migrations:   ${server.migrationsApplied.length === 0 ? 'up to date' : `applied ${server.migrationsApplied.join(', ')}`}`,
    ...admin,
    ...(server.tls === undefined
      ? []
      : [
          `  TLS:          ${server.tls.certFile}`,
          `  TLS pin:      ${server.tls.spkiPin}`,
          '                (agents: fieldline-agent enroll --tls-pin <this pin> --tls-pin <backup pin>)',
        ]),
    '',
    `Install token for tenant "default" (one device, expires ${installToken.expiresAt}):`,
    `  ${installToken.token}`,
    '',
    'An agent enrolls with it: POST /v1/enroll with "Authorization: Bearer <install token>"',
    'and its hostname, os, arch and public keys (docs/protocol.md). More install tokens:',
    `  curl -X POST ${server.url}/v1/admin/install-tokens -H 'authorization: Bearer <admin token>' \\`,
    `    -H 'content-type: application/json' -d '{"tenant":"default"}'`,
    '',
    ...(input.setupLink === undefined
      ? []
      : [
          `First run: no account exists yet. Create the owner (one-time link, expires ${input.setupLink.expiresAt}):`,
          `  ${input.setupLink.url}`,
          '  (headless: fieldline-server user create --email <you> --role owner --password-stdin)',
          '',
        ]),
    'Press Ctrl+C to stop.',
  ];
  return `${lines.join('\n')}\n`;
}
