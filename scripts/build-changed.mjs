// Builds the workspaces whose inputs changed since their last build, in dependency order.
//
// A workspace's inputs are every file in its folder outside dist/ and node_modules/, the
// shared build configuration at the root, the lockfile, and the build fingerprints of the
// workspaces it depends on (so a change in core rebuilds everything that bundles its types).
// A fingerprint of those inputs is kept in dist/.build-fingerprint; a workspace whose
// fingerprint still matches is skipped. `--force` builds everything.
//
// Why content hashes and not mtimes: a fresh clone, a `git checkout` or a copy gives every
// file a new mtime, and a stale dist/ after a branch switch must never look up to date.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const SHARED_INPUTS = ['tsup.base.ts', 'tsconfig.base.json', 'package-lock.json'];
const SKIPPED_DIRS = new Set(['dist', 'node_modules', '.fieldline', 'agent-state', 'screenshots']);
const FINGERPRINT_FILE = '.build-fingerprint';
const force = process.argv.includes('--force');

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function workspaceDirs() {
  const dirs = [];
  for (const pattern of readJson(join(ROOT, 'package.json')).workspaces) {
    if (pattern.endsWith('/*')) {
      const parent = join(ROOT, pattern.slice(0, -2));
      for (const entry of readdirSync(parent, { withFileTypes: true })) {
        if (entry.isDirectory() && existsSync(join(parent, entry.name, 'package.json'))) {
          dirs.push(join(parent, entry.name));
        }
      }
    } else {
      dirs.push(join(ROOT, pattern));
    }
  }
  return dirs;
}

function listFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') && entry.name !== '.npmrc') continue;
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFiles(path));
    else if (entry.isFile()) files.push(path);
  }
  return files.sort();
}

/** Workspaces with a build script, dependencies before their dependents. */
function buildOrder() {
  const byName = new Map();
  for (const dir of workspaceDirs()) {
    const manifest = readJson(join(dir, 'package.json'));
    byName.set(manifest.name, { dir, manifest });
  }
  const ordered = [];
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const { manifest } = byName.get(name);
    const deps = { ...manifest.dependencies, ...manifest.devDependencies };
    for (const dep of Object.keys(deps)) if (byName.has(dep)) visit(dep);
    ordered.push(name);
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return ordered
    .map((name) => ({ name, ...byName.get(name) }))
    .filter(({ manifest }) => manifest.scripts?.build);
}

function fingerprint(workspace, fingerprints) {
  const hash = createHash('sha256');
  for (const file of SHARED_INPUTS) hash.update(file).update(readFileSync(join(ROOT, file)));
  for (const file of listFiles(workspace.dir)) {
    hash.update(relative(workspace.dir, file)).update(readFileSync(file));
  }
  const deps = { ...workspace.manifest.dependencies, ...workspace.manifest.devDependencies };
  for (const dep of Object.keys(deps).sort()) {
    if (fingerprints.has(dep)) hash.update(dep).update(fingerprints.get(dep));
  }
  return hash.digest('hex');
}

const fingerprints = new Map();
let built = 0;
for (const workspace of buildOrder()) {
  const current = fingerprint(workspace, fingerprints);
  fingerprints.set(workspace.name, current);
  const stampPath = join(workspace.dir, 'dist', FINGERPRINT_FILE);
  const previous = existsSync(stampPath) ? readFileSync(stampPath, 'utf8') : '';
  if (!force && previous === current) continue;
  process.stdout.write(`build-changed: building ${workspace.name}\n`);
  const result = spawnSync('npm', ['run', 'build', '--silent', '-w', workspace.name], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) {
    process.stderr.write(`build-changed: ${workspace.name} failed to build\n`);
    process.exit(result.status ?? 1);
  }
  writeFileSync(stampPath, current);
  built++;
}
process.stdout.write(
  built === 0 ? 'build-changed: everything is up to date\n' : `build-changed: built ${built}\n`,
);
