import { fieldlineBuild } from '../../tsup.base.js';

// cli.ts starts with a `#!/usr/bin/env node` line, which esbuild keeps and tsup marks executable.
export default fieldlineBuild({ index: 'src/index.ts', cli: 'src/cli.ts' });
