// `npm run typecheck`: type-checks every workspace that has a `typecheck` script, several at
// once (npm's --workspaces runs them one after another, which took over 40 s on 2 cores).
// Each check is incremental: its .tsbuildinfo lives in the workspace's node_modules/.cache.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dirs = workspaces
  .flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2))).map((name) =>
          join(pattern.slice(0, -2), name),
        )
      : [pattern],
  )
  .filter((dir) => {
    try {
      const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
      return manifest.scripts?.typecheck !== undefined;
    } catch {
      return false;
    }
  });

function check(dir) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        tsc,
        '-p',
        'tsconfig.json',
        '--noEmit',
        '--incremental',
        '--tsBuildInfoFile',
        'node_modules/.cache/typecheck.tsbuildinfo',
      ],
      { cwd: join(root, dir), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code) => resolve({ dir, code, output, ms: Date.now() - started }));
  });
}

const queue = [...dirs];
const results = [];
await Promise.all(
  Array.from({ length: Math.min(availableParallelism(), queue.length) }, async () => {
    while (queue.length > 0) results.push(await check(queue.shift()));
  }),
);
let failed = 0;
for (const result of results.sort((a, b) => a.dir.localeCompare(b.dir))) {
  console.log(`${result.code === 0 ? 'ok  ' : 'FAIL'} ${result.dir} (${result.ms} ms)`);
  if (result.code !== 0) {
    failed++;
    process.stdout.write(result.output);
  }
}
process.exit(failed === 0 ? 0 : 1);
