import { fieldlineBuild } from '../../tsup.base.js';

export default fieldlineBuild({ index: 'src/index.ts', testing: 'src/testing/index.ts' });
