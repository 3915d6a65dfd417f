import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/parse-cli-args.js';

describe('parseCliArgs', () => {
  it('applies the documented defaults', () => {
    expect(parseCliArgs(['start'])).toEqual({
      kind: 'start',
      port: 8080,
      host: '127.0.0.1',
      dataDir: '.fieldline',
    });
    expect(parseCliArgs(['migrate'])).toEqual({ kind: 'migrate', dataDir: '.fieldline' });
    expect(parseCliArgs(['retention', '--data-dir', '/srv/fl'])).toEqual({
      kind: 'retention',
      dataDir: '/srv/fl',
    });
    expect(parseCliArgs(['retention', '--port', '1'])).toMatchObject({ kind: 'usage-error' });
  });

  it('reads every flag, in either --flag value or --flag=value form', () => {
    expect(
      parseCliArgs(['start', '--port=0', '--host', '0.0.0.0', '--data-dir', '/srv/fl']),
    ).toEqual({ kind: 'start', port: 0, host: '0.0.0.0', dataDir: '/srv/fl' });
    expect(parseCliArgs(['migrate', '--data-dir=/srv/fl'])).toEqual({
      kind: 'migrate',
      dataDir: '/srv/fl',
    });
  });

  it('reads the TLS certificate and key files of start', () => {
    expect(
      parseCliArgs(['start', '--tls-cert', '/etc/fl/cert.pem', '--tls-key=/etc/fl/key.pem']),
    ).toEqual({
      kind: 'start',
      port: 8080,
      host: '127.0.0.1',
      dataDir: '.fieldline',
      tlsCertFile: '/etc/fl/cert.pem',
      tlsKeyFile: '/etc/fl/key.pem',
    });
  });

  it('reads --no-analytics, for start only', () => {
    expect(parseCliArgs(['start', '--no-analytics'])).toEqual({
      kind: 'start',
      port: 8080,
      host: '127.0.0.1',
      dataDir: '.fieldline',
      noAnalytics: true,
    });
    expect(parseCliArgs(['migrate', '--no-analytics'])).toMatchObject({ kind: 'usage-error' });
    expect(parseCliArgs(['rotate-keys', '--no-analytics'])).toMatchObject({ kind: 'usage-error' });
  });

  it('asks for help with --help or -h, whatever else is given', () => {
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseCliArgs(['start', '-h'])).toEqual({ kind: 'help' });
  });

  it.each([
    [[], /Missing command/],
    [['serve'], /Unknown command "serve"/],
    [['start', 'extra'], /Unexpected argument "extra"/],
    [['start', '--port', 'http'], /--port must be a number/],
    [['start', '--port', '65536'], /--port must be a number/],
    [['start', '--port', '-1'], /./],
    [['start', '--verbose'], /--verbose/],
    [['migrate', '--port', '1'], /only apply to "start"/],
    [['start', '--data-dir='], /--data-dir must not be empty/],
    [['migrate', '--tls-cert', 'cert.pem'], /only apply to "start"/],
    [['start', '--tls-key='], /--tls-cert and --tls-key must not be empty/],
  ])('refuses %j', (argv, message) => {
    const parsed = parseCliArgs(argv);
    expect(parsed.kind).toBe('usage-error');
    expect(parsed.kind === 'usage-error' && parsed.message).toMatch(message);
  });

  it('reads --stream and --no-relay of start, and the names and --stream of worker', () => {
    expect(parseCliArgs(['start', '--stream', 'nats://127.0.0.1:4222', '--no-relay'])).toEqual({
      kind: 'start',
      port: 8080,
      host: '127.0.0.1',
      dataDir: '.fieldline',
      stream: 'nats://127.0.0.1:4222',
      relay: false,
    });
    expect(parseCliArgs(['worker', 'relay', 'tail', '--stream=embedded'])).toEqual({
      kind: 'worker',
      names: ['relay', 'tail'],
      dataDir: '.fieldline',
      stream: 'embedded',
    });
  });

  it('refuses worker flags that do not apply, and a worker without names', () => {
    expect(parseCliArgs(['worker'])).toMatchObject({ kind: 'usage-error' });
    expect(parseCliArgs(['worker', 'relay', '--port', '1'])).toMatchObject({ kind: 'usage-error' });
    expect(parseCliArgs(['migrate', '--stream', 'embedded'])).toMatchObject({
      kind: 'usage-error',
      message: '--stream only applies to "start" and "worker".',
    });
    expect(parseCliArgs(['worker', 'relay', '--no-relay'])).toMatchObject({
      kind: 'usage-error',
      message: '--no-relay only applies to "start".',
    });
  });
});
