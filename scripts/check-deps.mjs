// Fails when a workspace package depends (in package.json or in a src import)
// on a Fieldline package it must not: dependencies point one way only,
// core <- agent-sdk, core <- server-sdk <- reference-server, console <- reference-server.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const allowed = {
  '@fieldline/core': [],
  '@fieldline/agent-sdk': ['@fieldline/core'],
  '@fieldline/server-sdk': ['@fieldline/core'],
  '@fieldline/console': ['@fieldline/core'],
  '@fieldline/reference-server': ['@fieldline/core', '@fieldline/server-sdk', '@fieldline/console'],
};

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.[cm]?ts$/.test(name) ? [path] : [];
  });
}

const problems = [];
for (const dir of readdirSync('packages')) {
  const manifest = JSON.parse(readFileSync(join('packages', dir, 'package.json'), 'utf8'));
  const permitted = allowed[manifest.name];
  if (!permitted) {
    problems.push(`${manifest.name}: not in the dependency map of scripts/check-deps.mjs`);
    continue;
  }
  const declared = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });
  for (const dep of declared.filter((d) => d.startsWith('@fieldline/'))) {
    if (!permitted.includes(dep)) problems.push(`${manifest.name} depends on ${dep}`);
  }
  for (const file of sourceFiles(join('packages', dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/from\s+['"](@fieldline\/[a-z-]+)/g)) {
      const dep = match[1];
      // A package's own name appears in its docs' examples.
      if (dep === manifest.name) continue;
      if (!permitted.includes(dep)) problems.push(`${file} imports ${dep}`);
      else if (!declared.includes(dep)) problems.push(`${file} imports undeclared ${dep}`);
    }
  }
}
if (problems.length > 0) {
  console.error(`Dependency rule broken:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('dependencies point one way: ok');
