// The published declarations must not name the database drivers (optional peer dependencies):
// an app that installs one driver, or none yet, type-checks with `skipLibCheck` off. Reads the
// built dist (run `npm run build -w @fieldline/server-sdk` first; `npm test` does).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const distDir = join(repoRoot, 'packages/server-sdk/dist');
const DRIVER_REFERENCE =
  /(from|import\()\s*['"](pg|@electric-sql\/pglite)['"]|reference types="pg"/;

let workDir = '';
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the declarations of @fieldline/server-sdk', () => {
  it('import neither pg nor PGlite', () => {
    const declarations = readdirSync(distDir).filter((name) => /\.d\.c?ts$/.test(name));
    expect(declarations).toEqual(expect.arrayContaining(['index.d.ts', 'index.d.cts']));
    for (const name of declarations) {
      expect(readFileSync(join(distDir, name), 'utf8')).not.toMatch(DRIVER_REFERENCE);
    }
  });

  it('type-check in a strict app without skipLibCheck', () => {
    // Inside the repository so that the package and its dependencies resolve from the root
    // node_modules, as they would from an app's.
    mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
    workDir = mkdtempSync(join(repoRoot, '.tmp', 'strict-consumer-'));
    writeFileSync(join(workDir, 'package.json'), '{ "private": true, "type": "module" }\n');
    writeFileSync(
      join(workDir, 'app.ts'),
      `import { createDatabase, isDatabaseDriverError, PGliteDialect } from '@fieldline/server-sdk';
export const open = () => createDatabase({ dataDir: 'memory://' }).catch((error: unknown) => {
  if (isDatabaseDriverError(error)) console.error(error.details);
  throw error;
});
export type Dialect = PGliteDialect;\n`,
    );
    writeFileSync(
      join(workDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
        cwd: workDir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  }, 120_000);
});
