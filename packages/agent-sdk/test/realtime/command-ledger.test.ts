// The dedup store behind "a command id runs at most once": real files, reloaded as after a
// restart, capped, and private.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '@fieldline/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createCommandDispatcher } from '../../src/realtime/command-dispatcher.js';
import { loadCommandLedger } from '../../src/realtime/command-ledger.js';
import type { CommandHandler } from '../../src/realtime/realtime-types.js';
import { tempStateDir } from '../e2e/support.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function ledgerPath(): string {
  const dir = tempStateDir();
  dirs.push(dir);
  return join(dir, 'commands-seen.json');
}

const now = () => new Date(0).toISOString();

function command(id: string, type = 'deploy', body: unknown = {}): Command {
  return {
    id,
    type,
    body,
    issuedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T01:00:00.000Z',
  };
}

describe('command ledger', () => {
  it('persists answers in a 0600 file and reloads them', async () => {
    const path = ledgerPath();
    const ledger = await loadCommandLedger({ path, now });
    await ledger.remember('cmd_1', 'deploy', { status: 'acked' });
    await ledger.remember('cmd_2', 'deploy', { status: 'rejected', reason: 'disk full' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const reloaded = await loadCommandLedger({ path, now });
    expect(reloaded.get('cmd_1')).toEqual({ status: 'acked' });
    expect(reloaded.get('cmd_2')).toEqual({ status: 'rejected', reason: 'disk full' });
    expect(reloaded.typeOf('cmd_2')).toBe('deploy');
    expect(reloaded.get('cmd_3')).toBeUndefined();
  });

  it('forgets the oldest ids past the cap', async () => {
    const path = ledgerPath();
    const ledger = await loadCommandLedger({ path, now, maxEntries: 3 });
    for (const id of ['a1', 'a2', 'a3', 'a4']) await ledger.remember(id, 't', { status: 'acked' });
    expect(ledger.size).toBe(3);
    expect(ledger.get('a1')).toBeUndefined();
    expect(ledger.get('a4')).toEqual({ status: 'acked' });
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { entries: unknown[] };
    expect(stored.entries).toHaveLength(3);
  });

  it('starts afresh from a corrupt file instead of failing', async () => {
    const path = ledgerPath();
    writeFileSync(path, '{not json', { mode: 0o600 });
    const ledger = await loadCommandLedger({ path, now });
    expect(ledger.size).toBe(0);
  });
});

describe('command dispatcher', () => {
  async function setup(handlers: Record<string, CommandHandler> = {}, path = ledgerPath()) {
    const ledger = await loadCommandLedger({ path, now });
    const builtInRuns: string[] = [];
    const dispatcher = createCommandDispatcher({
      ledger,
      handlers: new Map(Object.entries(handlers)),
      builtIns: new Map<string, CommandHandler>([['ping', (c) => void builtInRuns.push(c.id)]]),
    });
    return { dispatcher, ledger, path, builtInRuns };
  }

  it('runs a handler once and answers redeliveries from memory, also after a restart', async () => {
    let runs = 0;
    const handlers = { deploy: () => void runs++ };
    const { dispatcher, path } = await setup(handlers);
    const first = await dispatcher.dispatch(command('cmd_a'), 'socket');
    expect(first).toMatchObject({ answer: { status: 'acked' }, duplicate: false });
    const again = await dispatcher.dispatch(command('cmd_a'), 'http');
    expect(again).toMatchObject({ answer: { status: 'acked' }, duplicate: true, via: 'http' });
    expect(dispatcher.remembered('cmd_a')).toEqual({ answer: { status: 'acked' }, type: 'deploy' });
    const restarted = await setup(handlers, path);
    const afterRestart = await restarted.dispatcher.dispatch(command('cmd_a'), 'socket');
    expect(afterRestart).toMatchObject({ answer: { status: 'acked' }, duplicate: true });
    expect(runs).toBe(1);
  });

  it('shares one run between concurrent deliveries of the same id', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { dispatcher } = await setup({
      deploy: async () => {
        runs++;
        await gate;
      },
    });
    const viaSocket = dispatcher.dispatch(command('cmd_b'), 'socket');
    const viaHttp = dispatcher.dispatch(command('cmd_b'), 'http');
    expect(dispatcher.remembered('cmd_b')).toBeUndefined();
    release();
    const [a, b] = await Promise.all([viaSocket, viaHttp]);
    expect(runs).toBe(1);
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
  });

  it('rejects with the error message, and unknown types with unknown_command', async () => {
    const { dispatcher } = await setup({
      deploy: () => {
        throw new Error('version 9 not found');
      },
    });
    expect((await dispatcher.dispatch(command('cmd_c'), 'socket')).answer).toEqual({
      status: 'rejected',
      reason: 'version 9 not found',
    });
    expect((await dispatcher.dispatch(command('cmd_d', 'reboot'), 'socket')).answer).toEqual({
      status: 'rejected',
      reason: 'unknown_command',
    });
  });

  it('does not rerun an integrator handler a crash interrupted, but reruns a built-in', async () => {
    const path = ledgerPath();
    const ledger = await loadCommandLedger({ path, now });
    // What a crash during the handlers leaves behind.
    await ledger.remember('cmd_e', 'deploy', { status: 'running' });
    await ledger.remember('cmd_f', 'ping', { status: 'running' });
    let runs = 0;
    const { dispatcher, builtInRuns } = await setup({ deploy: () => void runs++ }, path);
    expect((await dispatcher.dispatch(command('cmd_e'), 'http')).answer).toEqual({
      status: 'rejected',
      reason: 'interrupted',
    });
    expect(runs).toBe(0);
    expect((await dispatcher.dispatch(command('cmd_f', 'ping'), 'http')).answer).toEqual({
      status: 'acked',
    });
    expect(builtInRuns).toEqual(['cmd_f']);
  });
});
