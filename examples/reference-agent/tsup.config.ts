import { fieldlineBuild } from '../../tsup.base.js';

// cli.ts starts with a `#!/usr/bin/env node` line, which esbuild keeps and tsup marks executable.
export default fieldlineBuild({ cli: 'src/cli.ts', index: 'src/index.ts' });
