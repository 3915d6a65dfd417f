// `npm run release:check`: what `changeset version` and `changeset publish` will need, checked
// before anyone runs them.
//   1. `changeset status` against the base branch: every changeset parses, and a branch that
//      changed a published package carries a changeset for it.
//   2. `changeset version` in a scratch copy of the manifests and changesets: a package that was
//      never released (0.0.0) comes out as 0.1.0, private packages keep their version, and every
//      @fieldline/* dependency range in every workspace, before and after, is exactly the
//      workspace's version, so npm keeps linking the workspace and never asks the registry.
// Closes with "release-check: N passed, N failed"; exits 1 on any failure.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHANGESET = join(ROOT, 'node_modules/@changesets/cli/bin.js');
const FIRST_RELEASE = '0.1.0';
let passed = 0;
let failed = 0;

function report(ok, label, details = []) {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}`);
  for (const line of details) console.log(`       ${line}`);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function git(...args) {
  return spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
}

function workspaceDirs(root) {
  return readJson(join(root, 'package.json')).workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent))
      .map((name) => `${parent}/${name}`)
      .filter((dir) => existsSync(join(root, dir, 'package.json')));
  });
}

function manifests(root) {
  return workspaceDirs(root).map((dir) => ({ dir, ...readJson(join(root, dir, 'package.json')) }));
}

/** Every @fieldline/* range that is not exactly the version of the workspace it names. */
function strayRanges(all) {
  const versions = Object.fromEntries(all.map((pkg) => [pkg.name, pkg.version]));
  const problems = [];
  for (const pkg of all) {
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
      for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
        if (!dep.startsWith('@fieldline/')) continue;
        if (range !== versions[dep]) {
          problems.push(
            `${pkg.dir}: ${field}.${dep} is "${range}", the workspace is ${versions[dep]}`,
          );
        }
      }
    }
  }
  return problems;
}

// ---- 1. changeset status ------------------------------------------------------------------------
const config = readJson(join(ROOT, '.changeset/config.json'));
const base = [config.baseBranch, `origin/${config.baseBranch}`].find(
  (ref) => git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`).status === 0,
);
if (base === undefined) {
  console.log(
    `note: no "${config.baseBranch}" branch in this clone; comparing with HEAD, so only the ` +
      'changesets themselves are checked, not whether changed packages have one.',
  );
}
const status = spawnSync(process.execPath, [CHANGESET, 'status', `--since=${base ?? 'HEAD'}`], {
  cwd: ROOT,
  encoding: 'utf8',
});
report(
  status.status === 0,
  `changeset status --since=${base ?? 'HEAD'}: every changeset parses; changed packages have one`,
  status.status === 0 ? [] : `${status.stdout}${status.stderr}`.trim().split('\n').slice(-20),
);

// ---- 2. changeset version, in a scratch copy ----------------------------------------------------
const before = manifests(ROOT);
report(
  strayRanges(before).length === 0,
  '@fieldline/* ranges are the workspace versions today',
  strayRanges(before),
);

const scratch = mkdtempSync(join(tmpdir(), 'fieldline-release-check-'));
try {
  cpSync(join(ROOT, 'package.json'), join(scratch, 'package.json'));
  cpSync(join(ROOT, '.changeset'), join(scratch, '.changeset'), { recursive: true });
  for (const { dir } of before) {
    mkdirSync(join(scratch, dir), { recursive: true });
    for (const file of ['package.json', 'CHANGELOG.md']) {
      if (existsSync(join(ROOT, dir, file)))
        cpSync(join(ROOT, dir, file), join(scratch, dir, file));
    }
  }
  // The changelog generator named in config.json is loaded from node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
  const version = spawnSync(process.execPath, [CHANGESET, 'version'], {
    cwd: scratch,
    encoding: 'utf8',
  });
  report(
    version.status === 0,
    'changeset version (in a scratch copy)',
    version.status === 0 ? [] : `${version.stdout}${version.stderr}`.trim().split('\n').slice(-15),
  );
  if (version.status === 0) {
    const after = manifests(scratch);
    const problems = [];
    for (const pkg of before) {
      const next = after.find((candidate) => candidate.name === pkg.name);
      if (pkg.private && next.version !== pkg.version) {
        problems.push(`${pkg.name} is private but went ${pkg.version} → ${next.version}`);
      }
      if (!pkg.private && pkg.version === '0.0.0' && next.version !== FIRST_RELEASE) {
        problems.push(`${pkg.name}'s first release would be ${next.version}, not ${FIRST_RELEASE}`);
      }
      if (!pkg.private && next.version !== pkg.version) {
        const changelog = join(scratch, pkg.dir, 'CHANGELOG.md');
        if (
          !existsSync(changelog) ||
          !readFileSync(changelog, 'utf8').includes(`## ${next.version}`)
        ) {
          problems.push(`${pkg.name}: CHANGELOG.md has no ${next.version} section`);
        }
      }
    }
    problems.push(...strayRanges(after));
    const plan = after
      .filter((pkg) => !pkg.private)
      .map(
        (pkg) =>
          `${pkg.name} ${before.find((old) => old.name === pkg.name).version} → ${pkg.version}`,
      );
    report(problems.length === 0, `release plan: ${plan.join(', ')}`, problems);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

console.log(`release-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
