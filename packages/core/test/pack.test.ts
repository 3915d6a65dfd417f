// Packs @fieldline/core as npm would publish it and uses the tarball from a
// fresh project, both as ESM and CommonJS, with types: what a user gets.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const packageDir = join(repoRoot, 'packages/core');
const bin = (name: string) => join(repoRoot, 'node_modules/.bin', name);
let workDir = '';
let consumerDir = '';
let tarball = '';

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  // Inside the repository so the tarball's dependencies (zod, @hpke/*)
  // resolve from the root node_modules without a network install.
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  workDir = mkdtempSync(join(repoRoot, '.tmp', 'pack-'));
  const packed = JSON.parse(
    run('npm', ['pack', '--json', '--pack-destination', workDir], packageDir),
  );
  tarball = join(workDir, packed[0].filename);
  consumerDir = join(workDir, 'consumer');
  const installDir = join(consumerDir, 'node_modules/@fieldline/core');
  mkdirSync(installDir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', installDir, '--strip-components=1'], workDir);
  writeFileSync(join(consumerDir, 'package.json'), '{ "name": "consumer", "private": true }\n');
}, 120_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the packed @fieldline/core', () => {
  it('ships only dist, the testing redirect, README, LICENSE and package.json', () => {
    const files = run('tar', ['-tzf', tarball], workDir).trim().split('\n');
    expect(
      files.filter(
        (file) =>
          !/^package\/(dist\/|testing\/package\.json$|README\.md$|LICENSE$|package\.json$|CHANGELOG\.md$)/.test(
            file,
          ) || file.endsWith('.build-fingerprint'),
      ),
    ).toEqual([]);
    expect(files).toContain('package/dist/index.cjs');
    expect(files).toContain('package/dist/index.d.cts');
    expect(files).toContain('package/LICENSE');
    expect(files).toContain('package/testing/package.json');
  });

  it('can be imported as ESM', () => {
    writeFileSync(
      join(consumerDir, 'esm.mjs'),
      `import { createEventRegistry } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
const clock = createFakeClock({ nowMs: 5 });
console.log(typeof createEventRegistry().validate, clock.now());\n`,
    );
    expect(run('node', ['esm.mjs'], consumerDir).trim()).toBe('function 5');
  });

  it('can be required as CommonJS', () => {
    writeFileSync(
      join(consumerDir, 'cjs.cjs'),
      `const { createEventRegistry, isFieldlineError } = require('@fieldline/core');
const result = createEventRegistry().validate({});
console.log(result.ok, isFieldlineError(result.error), result.error.code);\n`,
    );
    expect(run('node', ['cjs.cjs'], consumerDir).trim()).toBe('false true invalid_event');
  });

  it('type-checks from both module systems', () => {
    const source = `import { createEventRegistry, type EventEnvelope } from '@fieldline/core';
const registry = createEventRegistry();
const result = registry.validateData('activity.network.volume', {});
export const bytes: number | undefined = result.ok ? result.value.bytesIn : undefined;
export type E = EventEnvelope;\n`;
    writeFileSync(join(consumerDir, 'esm.mts'), source);
    writeFileSync(join(consumerDir, 'cjs.cts'), source);
    writeFileSync(
      join(consumerDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    expect(() => run(bin('tsc'), ['-p', 'tsconfig.json'], consumerDir)).not.toThrow();
  }, 60_000);

  it('passes publint and are-the-types-wrong', () => {
    expect(run(bin('publint'), ['--strict'], packageDir)).toMatch(/All good|no issues/i);
    expect(() =>
      // Every resolution, node10 included: testing/package.json redirects old resolvers.
      run(bin('attw'), [tarball, '--format', 'ascii'], workDir),
    ).not.toThrow();
  }, 60_000);
});
