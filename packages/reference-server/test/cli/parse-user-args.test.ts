import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/parse-cli-args.js';

describe('parseCliArgs: user create', () => {
  it('reads an owner, and a tenant role with its tenant', () => {
    expect(
      parseCliArgs(['user', 'create', '--email', 'ana@example.org', '--role', 'owner']),
    ).toEqual({
      kind: 'user-create',
      dataDir: '.fieldline',
      email: 'ana@example.org',
      role: 'owner',
      passwordFromStdin: false,
    });
    expect(
      parseCliArgs([
        'user',
        'create',
        '--email=bo@example.org',
        '--role=auditor',
        '--tenant=acme',
        '--password-stdin',
        '--data-dir',
        '/srv/fl',
      ]),
    ).toEqual({
      kind: 'user-create',
      dataDir: '/srv/fl',
      email: 'bo@example.org',
      role: 'auditor',
      tenant: 'acme',
      passwordFromStdin: true,
    });
  });

  it.each([
    [['user'], /user create --email/],
    [['user', 'delete', '--email', 'a@b.co', '--role', 'owner'], /user create --email/],
    [['user', 'create', '--role', 'owner'], /--email must be an e-mail/],
    [['user', 'create', '--email', 'not-an-email', '--role', 'owner'], /--email must be/],
    [['user', 'create', '--email', 'a@b.co', '--role', 'root'], /--role must be owner/],
    [
      ['user', 'create', '--email', 'a@b.co', '--role', 'owner', '--tenant', 'acme'],
      /leave --tenant out/,
    ],
    [['user', 'create', '--email', 'a@b.co', '--role', 'auditor'], /needs --tenant/],
    [
      ['user', 'create', '--email', 'a@b.co', '--role', 'auditor', '--tenant', 'Acme Inc'],
      /needs --tenant/,
    ],
    [['user', 'create', '--email', 'a@b.co', '--role', 'owner', '--port', '1'], /takes --email/],
    [['start', '--email', 'a@b.co'], /only apply to "user create"/],
    [['migrate', '--password-stdin'], /only apply to "user create"/],
  ])('refuses %j', (argv, message) => {
    const parsed = parseCliArgs(argv);
    expect(parsed.kind).toBe('usage-error');
    expect(parsed.kind === 'usage-error' && parsed.message).toMatch(message);
  });
});
