import { fieldlineBuild } from '../../tsup.base.js';

// cli.ts starts with a `#!/usr/bin/env node` line, which esbuild keeps and tsup marks executable.
// worker-thread-main is the entry of the server's worker threads (start-worker-thread.ts finds
// it by `import.meta.url`, which `shims` provides in the CommonJS build too).
export default fieldlineBuild(
  {
    index: 'src/index.ts',
    cli: 'src/cli.ts',
    'worker-thread-main': 'src/worker/worker-thread-main.ts',
  },
  { shims: true },
);
