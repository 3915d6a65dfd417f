import { fieldlineBuild } from '../../tsup.base.js';

// `import.meta.url` in the CommonJS build too: the PGlite template is found next to the bundle.
export default fieldlineBuild(['src/index.ts'], { shims: true });
