// Adds lock entries for optional platform packages (esbuild, rollup, biome
// binaries for other OSes) that the package registry of our build machines
// does not serve: it answers 404 for other platforms, so `npm install` writes
// a lockfile without them, and npm 11's `npm ci` then refuses the lockfile
// ("Missing: @rollup/rollup-darwin-arm64@ from lock file"). Each entry is
// marked optional; on a machine whose registry serves them npm installs the
// one for its platform, elsewhere the fetch fails and npm skips it, as it does
// for any optional dependency. Run after `npm install` changes the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    // Resolution walks up from the dependent's node_modules; a hoisted copy counts.
    const candidates = [];
    let base = location;
    while (true) {
      candidates.push(`${base === '' ? '' : `${base}/`}node_modules/${name}`);
      const cut = base.lastIndexOf('/node_modules/');
      if (base === '') break;
      base = cut === -1 ? '' : base.slice(0, cut);
    }
    if (candidates.some((candidate) => candidate in packages)) continue;
    const target = `node_modules/${name}`;
    packages[target] = {
      version: version.replace(/^[\^~=]/, ''),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  ),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
