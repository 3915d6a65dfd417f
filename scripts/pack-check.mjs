// `npm run pack:check`: packs the published packages exactly as `npm publish` would and
// checks what a user would get, after `npm run build`:
//   1. each tarball's contents and manifest (LICENSE, README, metadata, every entry point there,
//      nothing the build leaves lying around, bins executable, internal versions consistent);
//   2. publint (strict, suggestions included) and attw (every module resolution) on the tarballs;
//   3. a throwaway project that installs the four tarballs in one `npm install` (third-party
//      dependencies from the registry, @fieldline/* only from the tarballs), then runs an ESM
//      smoke (an agent enrolling with a reference server and delivering events), a CommonJS
//      smoke, the `fieldline-server` bin, and a strict TypeScript consumer (`skipLibCheck: false`).
// Prints one line per check and closes with "pack-check: N passed, N failed"; exits 1 on any
// failure. `--keep` leaves the temp folder for inspection.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'scripts/pack-check');
const PUBLISHED = [
  'packages/core',
  'packages/agent-sdk',
  'packages/server-sdk',
  'packages/reference-server',
  'packages/console',
];
const REPOSITORY_URL = 'git+https://github.com/fieldline/fieldline.git';
// What may ship: the build output, committed bin shims, core's node10 redirect folder and the
// usual top-level files. Anything else (src, tests, configs) is a packaging mistake.
const SHIPPABLE =
  /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+|bin\/.+|testing\/package\.json)$/;
// attw rules deliberately ignored, each with its reason. None today: every entry point resolves
// under node10, node16 (CJS and ESM) and bundler.
const ATTW_IGNORED_RULES = [];
// Third-party packages the consumer installs next to the tarballs, at the versions the repo
// uses, as a user following the READMEs would: Node's types for the strict TypeScript check,
// PGlite (an optional peer of server-sdk) for the CJS smoke's in-memory database, and zod, the
// peer dependency of core and both SDKs.
const CONSUMER_EXTRAS = ['@types/node', '@electric-sql/pglite', 'zod'];

const keep = process.argv.includes('--keep');
const started = Date.now();
let passed = 0;
let failed = 0;
const knownIssues = [];

function report(ok, label, details = []) {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}`);
  for (const line of details) console.log(`       ${line}`);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Runs a command; resolves with its exit code and output, never rejects on a non-zero exit. */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines);
}

/** Every relative path a manifest names as something to load: exports, main/module/types, bin. */
function entryTargets(manifest) {
  const targets = new Set();
  const walk = (value) => {
    if (typeof value === 'string') targets.add(value);
    else if (value && typeof value === 'object')
      for (const inner of Object.values(value)) walk(inner);
  };
  walk(manifest.exports);
  for (const field of ['main', 'module', 'types', 'typings']) walk(manifest[field]);
  walk(manifest.bin);
  return [...targets].filter((target) => target.startsWith('./'));
}

function normal(path, from = '.') {
  return posix.normalize(posix.join(from, path));
}

// ---- 0. preconditions -------------------------------------------------------------------------
for (const dir of PUBLISHED) {
  const manifest = readJson(join(ROOT, dir, 'package.json'));
  const missing = entryTargets(manifest)
    .filter((target) => target.startsWith('./dist/'))
    .filter((target) => !existsSync(join(ROOT, dir, target)));
  if (missing.length > 0) {
    console.error(
      `pack-check: ${dir} is not built (${missing[0]} missing). Run \`npm run build\`.`,
    );
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'fieldline-pack-check-'));
const tarballDir = join(work, 'tarballs');
mkdirSync(tarballDir);

try {
  // ---- 1. every workspace that is not published is private ------------------------------------
  {
    const rootManifest = readJson(join(ROOT, 'package.json'));
    const dirs = [];
    for (const pattern of rootManifest.workspaces) {
      if (!pattern.endsWith('/*')) {
        dirs.push(pattern);
        continue;
      }
      const parent = pattern.slice(0, -2);
      for (const name of readdirSync(join(ROOT, parent))) {
        if (existsSync(join(ROOT, parent, name, 'package.json'))) dirs.push(`${parent}/${name}`);
      }
    }
    const leaks = dirs.filter(
      (dir) =>
        !PUBLISHED.includes(dir) && readJson(join(ROOT, dir, 'package.json')).private !== true,
    );
    const privatePublished = PUBLISHED.filter(
      (dir) => readJson(join(ROOT, dir, 'package.json')).private === true,
    );
    report(
      leaks.length === 0 && privatePublished.length === 0,
      `workspaces: only ${PUBLISHED.length} published, ${dirs.length - PUBLISHED.length} private`,
      [
        ...leaks.map((dir) => `${dir} is not private but is not meant to be published`),
        ...privatePublished.map((dir) => `${dir} is private but is meant to be published`),
      ],
    );
  }

  // ---- 2. pack --------------------------------------------------------------------------------
  const packStarted = Date.now();
  const packed = await run(
    'npm',
    [
      'pack',
      '--json',
      '--pack-destination',
      tarballDir,
      ...PUBLISHED.flatMap((dir) => ['-w', dir]),
    ],
    { cwd: ROOT },
  );
  if (packed.code !== 0) {
    report(false, 'npm pack', tail(packed.stderr));
    throw new Error('npm pack failed');
  }
  const packs = JSON.parse(packed.stdout);
  report(
    packs.length === PUBLISHED.length,
    `npm pack: ${packs.length} tarballs in ${seconds(Date.now() - packStarted)}`,
  );
  const versions = Object.fromEntries(packs.map((pack) => [pack.name, pack.version]));

  // ---- 3. contents and manifest of each tarball -----------------------------------------------
  const rootLicense = readFileSync(join(ROOT, 'LICENSE'));
  const dirOf = Object.fromEntries(
    PUBLISHED.map((dir) => [readJson(join(ROOT, dir, 'package.json')).name, dir]),
  );
  for (const pack of packs) {
    const dir = dirOf[pack.name];
    const tarball = join(tarballDir, pack.filename);
    const unpacked = join(work, 'unpacked', pack.name.replace('/', '+'));
    mkdirSync(unpacked, { recursive: true });
    const untar = await run('tar', ['-xzf', tarball, '-C', unpacked]);
    if (untar.code !== 0) throw new Error(`tar -xzf ${tarball}: ${untar.stderr}`);
    const inTarball = (path) => join(unpacked, 'package', path);
    const files = new Set(pack.files.map((file) => file.path));
    const modes = new Map(pack.files.map((file) => [file.path, file.mode]));
    const manifest = readJson(inTarball('package.json'));
    const problems = [];

    for (const required of ['LICENSE', 'README.md', 'package.json']) {
      if (!files.has(required)) problems.push(`${required} is not in the tarball`);
    }
    if (files.has('LICENSE') && !readFileSync(inTarball('LICENSE')).equals(rootLicense)) {
      problems.push(`LICENSE differs from the repository's LICENSE (copy it again to ${dir})`);
    }
    const hasChangelog = existsSync(join(ROOT, dir, 'CHANGELOG.md'));
    if (hasChangelog !== files.has('CHANGELOG.md')) {
      problems.push(
        `CHANGELOG.md is ${hasChangelog ? 'in the folder but not' : 'not in the folder but'} in the tarball`,
      );
    }
    for (const file of files) {
      if (!SHIPPABLE.test(file) || file.endsWith('.build-fingerprint')) {
        problems.push(`${file} should not ship`);
      }
    }

    if (manifest.license !== 'Apache-2.0') problems.push(`license is ${manifest.license}`);
    if (manifest.repository?.url !== REPOSITORY_URL)
      problems.push(`repository.url is ${manifest.repository?.url}`);
    if (manifest.repository?.directory !== dir) {
      problems.push(`repository.directory is ${manifest.repository?.directory}, not ${dir}`);
    }
    if (manifest.homepage !== 'https://github.com/fieldline/fieldline#readme') {
      problems.push(`homepage is ${manifest.homepage}`);
    }
    if (manifest.bugs?.url !== 'https://github.com/fieldline/fieldline/issues') {
      problems.push(`bugs.url is ${manifest.bugs?.url}`);
    }
    if (!Array.isArray(manifest.keywords) || manifest.keywords.length === 0)
      problems.push('no keywords');
    if (manifest.publishConfig?.access !== 'public')
      problems.push('publishConfig.access is not "public"');
    if (manifest.private === true) problems.push('private: true');

    for (const target of entryTargets(manifest)) {
      if (!files.has(normal(target)))
        problems.push(`${target} is named in package.json but not shipped`);
    }
    // Folders with a package.json of their own (core's `testing/`) redirect node10 resolvers.
    for (const file of files) {
      if (file === 'package.json' || !file.endsWith('/package.json')) continue;
      const folder = posix.dirname(file);
      const redirect = readJson(inTarball(file));
      for (const target of ['main', 'module', 'types'].map((field) => redirect[field])) {
        if (target === undefined) continue;
        if (!files.has(normal(target, folder)))
          problems.push(`${file} points at missing ${target}`);
      }
    }

    const bins =
      typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
    for (const bin of bins) {
      const path = normal(bin);
      if (!files.has(path)) continue;
      if ((modes.get(path) & 0o111) === 0) problems.push(`bin ${path} is not executable`);
      if (!readFileSync(inTarball(path), 'utf8').startsWith('#!/usr/bin/env node')) {
        problems.push(`bin ${path} has no #!/usr/bin/env node line`);
      }
      const effects = manifest.sideEffects;
      if (
        effects === false ||
        (Array.isArray(effects) && !effects.map((e) => normal(e)).includes(path))
      ) {
        problems.push(`bin ${path} runs on import but sideEffects does not list it`);
      }
    }

    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
        if (!dep.startsWith('@fieldline/')) continue;
        if (!(dep in versions))
          problems.push(`${field}.${dep} is not one of the published packages`);
        else if (range !== versions[dep]) {
          problems.push(`${field}.${dep} is "${range}" but the packed ${dep} is ${versions[dep]}`);
        }
      }
    }

    report(
      problems.length === 0,
      `${pack.name}@${pack.version}: ${files.size} files, ${kib(pack.size)} packed, ${kib(pack.unpackedSize)} unpacked`,
      problems,
    );
  }

  // ---- 4. publint and attw on the tarballs, while a consumer project installs them ------------
  // attw and npm install run as child processes in parallel; publint runs in this process.
  const lintStarted = Date.now();
  const attwBin = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
  const ignoreArgs = ATTW_IGNORED_RULES.length > 0 ? ['--ignore-rules', ...ATTW_IGNORED_RULES] : [];
  const attwRuns = packs.map((pack) =>
    run(
      process.execPath,
      [attwBin, join(tarballDir, pack.filename), '--format', 'json', ...ignoreArgs],
      { cwd: work },
    ).then((result) => ({ ...result, ms: Date.now() - lintStarted })),
  );

  const consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    `${JSON.stringify({ name: 'fieldline-pack-consumer', version: '0.0.0', private: true }, null, 2)}\n`,
  );
  const extras = CONSUMER_EXTRAS.map(
    (name) => `${name}@${readJson(join(ROOT, 'node_modules', name, 'package.json')).version}`,
  );
  const installStarted = Date.now();
  // All four tarballs in one command, so they satisfy each other's exact @fieldline/* ranges.
  const installing = run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      ...packs.map((pack) => join(tarballDir, pack.filename)),
      ...extras,
    ],
    { cwd: consumer },
  ).then((result) => ({ ...result, ms: Date.now() - installStarted }));

  for (const pack of packs) {
    const bytes = await readFile(join(tarballDir, pack.filename));
    const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const result = await publint({ pack: { tarball }, strict: true, level: 'suggestion' });
    report(
      result.messages.length === 0,
      `publint ${pack.name}: ${result.messages.length} messages (strict, suggestions included)`,
      result.messages.map((message) => `${message.type}: ${formatMessage(message, result.pkg)}`),
    );
  }
  for (const [index, pending] of attwRuns.entries()) {
    const pack = packs[index];
    const { stdout, stderr, ms } = await pending;
    let analysis;
    try {
      ({ analysis } = JSON.parse(stdout));
    } catch {
      report(false, `attw ${pack.name}: no JSON report`, tail(stderr || stdout));
      continue;
    }
    const problems = (analysis.problems ?? []).filter(
      (problem) => !ATTW_IGNORED_RULES.includes(problem.kind),
    );
    const entrypoints = Object.entries(analysis.entrypoints ?? {});
    const resolutions = entrypoints.flatMap(([subpath, entry]) =>
      Object.entries(entry.resolutions).map(([kind, resolution]) => ({
        subpath,
        kind,
        resolution,
      })),
    );
    const unresolved = resolutions.filter(({ resolution }) => !resolution.resolution?.fileName);
    const kinds = [...new Set(resolutions.map(({ kind }) => kind))];
    report(
      problems.length === 0 && unresolved.length === 0 && kinds.length === 4,
      `attw ${pack.name}: ${entrypoints.length} entry points under ${kinds.join(', ')}: ${problems.length} problems (${seconds(ms)})`,
      [
        ...problems.map(
          (problem) =>
            `${problem.kind}: ${problem.entrypoint ?? ''} ${problem.resolutionKind ?? ''}`,
        ),
        ...unresolved.map(({ subpath, kind }) => `${subpath} does not resolve under ${kind}`),
      ],
    );
  }

  // ---- 5. the consumer project has the tarballs installed -------------------------------------
  const installed = await installing;
  report(
    installed.code === 0,
    `npm install of the 4 tarballs + ${extras.join(', ')} (${seconds(installed.ms)})`,
    installed.code === 0 ? [] : tail(installed.stderr),
  );
  if (installed.code !== 0) throw new Error('npm install failed');

  // @fieldline/* must come from the tarballs: a range the tarballs do not satisfy would make npm
  // fetch (or fail to fetch) the package from the public registry instead.
  {
    const lock = readJson(join(consumer, 'package-lock.json'));
    const problems = [];
    const found = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      const match = /(?:^|\/)node_modules\/(@fieldline\/[^/]+)$/.exec(key);
      if (!match) continue;
      found.push(match[1]);
      if (key !== `node_modules/${match[1]}`) problems.push(`${key}: a second, nested copy`);
      if (!entry.resolved?.startsWith('file:')) {
        problems.push(`${key} resolved from ${entry.resolved}`);
      }
    }
    report(
      problems.length === 0 && found.length === PUBLISHED.length,
      `@fieldline/* installed from the tarballs only (${found.length} packages, no nested copies)`,
      problems,
    );
  }

  // ---- 6. run the consumer: strict TypeScript alongside ESM, CJS and the bin -------------------
  for (const fixture of ['esm-smoke.mjs', 'cjs-smoke.cjs', 'types-esm.mts', 'types-cjs.cts']) {
    await copyFile(join(FIXTURES, fixture), join(consumer, fixture));
  }
  // No `lib`: TypeScript's default for the target, as a project that does not pick one gets.
  const tsconfig = {
    compilerOptions: {
      strict: true,
      skipLibCheck: false,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      target: 'ES2022',
      types: ['node'],
      noEmit: true,
    },
    files: ['types-esm.mts', 'types-cjs.cts'],
  };
  writeFileSync(join(consumer, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const tscStarted = Date.now();
  const typechecking = run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
    { cwd: consumer },
  ).then((result) => ({ ...result, ms: Date.now() - tscStarted }));

  const env = { ...process.env };
  // The smokes run on embedded PGlite; a DATABASE_URL in the environment must not redirect them.
  delete env.DATABASE_URL;
  for (const [script, label] of [
    ['esm-smoke.mjs', 'ESM import of every package'],
    ['cjs-smoke.cjs', 'CJS require of every package'],
  ]) {
    const smokeStarted = Date.now();
    const result = await run(process.execPath, [script], { cwd: consumer, env });
    report(
      result.code === 0,
      `${label} (${seconds(Date.now() - smokeStarted)})`,
      result.code === 0
        ? result.stdout.trim().split('\n')
        : tail(`${result.stdout}\n${result.stderr}`, 25),
    );
  }
  {
    // The committed shim, linked by npm, loads the built CLI (which imports every dependency).
    const bin = join(consumer, 'node_modules/.bin/fieldline-server');
    const result = existsSync(bin)
      ? await run(bin, ['--help'], { cwd: consumer, env })
      : { code: -1, stdout: '', stderr: 'node_modules/.bin/fieldline-server was not linked' };
    report(
      result.code === 0 && /fieldline-server/.test(result.stdout) && /migrate/.test(result.stdout),
      'bin: fieldline-server --help runs from node_modules/.bin',
      result.code === 0 ? [] : tail(`${result.stdout}\n${result.stderr}`),
    );
  }
  {
    const result = await typechecking;
    const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    // A known problem outside this package's own declarations is named as such in the log.
    const pgliteOnly =
      errors.length > 0 &&
      errors.every((line) => line.includes('node_modules/@electric-sql/pglite/'));
    if (pgliteOnly) {
      knownIssues.push(
        `strict TypeScript: all ${errors.length} errors are in @electric-sql/pglite's own ` +
          "declarations (they need the Emscripten namespace, which consumers don't have); " +
          "server-sdk's declarations must stop exposing PGlite's types.",
      );
    }
    report(
      result.code === 0,
      `strict TypeScript consumer (strict, skipLibCheck: false, NodeNext; ESM + CJS) (${seconds(result.ms)})` +
        (pgliteOnly ? ': only the known @electric-sql/pglite errors' : ''),
      errors.slice(0, 12).map((line) => line.replace(`${consumer}/`, '')),
    );
  }
} catch (error) {
  if (failed === 0) report(false, `pack-check stopped: ${error.message}`);
  else console.log(`pack-check stopped: ${error.message}`);
} finally {
  if (keep) console.log(`(kept ${work})`);
  else rmSync(work, { recursive: true, force: true });
}

for (const issue of knownIssues) console.log(`known issue: ${issue}`);
console.log(`pack-check took ${seconds(Date.now() - started)}`);
console.log(`pack-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
