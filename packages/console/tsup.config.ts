import { fieldlineBuild } from '../../tsup.base.js';

// Only the Node entry (where the built assets are); the web application is built by Vite.
// `shims` gives the CJS build an `import.meta.url`.
export default fieldlineBuild(['src/index.ts'], { shims: true });
