#!/usr/bin/env node
// The command npm links. It is committed, not built, because npm links a bin only when its
// target exists at install time: pointing `bin` at dist/ left a fresh clone without the
// command, and `npx fieldline-server` then asked the public registry for it.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'fieldline-server: this checkout is not built yet. Run `npm run build` (or `npm start`) in the repository root first.\n',
  );
  process.exit(1);
}
await import(cli.href);
