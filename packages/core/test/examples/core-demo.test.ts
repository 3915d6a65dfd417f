// Runs examples/core-demo (what `npm start` runs) against the built package,
// as a user would, and checks the story it tells.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../../../../examples/core-demo/index.mjs', import.meta.url));

describe('examples/core-demo', () => {
  it('gates on consent, seals, opens, refuses a replay and stops on withdrawal', () => {
    const output = execFileSync(process.execPath, [demo], { encoding: 'utf8' });
    const lines = output
      .trim()
      .split('\n')
      .map((line) => line.replace(/\s+/g, ' '));
    expect(lines).toContain('track activity.network.volume → refused: no consent for "network"');
    expect(lines).toContain('track activity.system.idle → invalid (data.idleThresholdMs)');
    expect(lines).toContain('server activity.app.launched seq 0: accepted');
    expect(lines).toContain('server agent reported drops: {"no_consent":1,"invalid":1}');
    expect(lines).toContain('server the same frame again → replayed');
    expect(lines.at(-1)).toBe('track activity.app.closed → refused: no consent for "activity"');
  }, 30_000);
});
