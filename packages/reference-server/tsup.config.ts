import { fieldlineBuild } from '../../tsup.base.js';

export default fieldlineBuild();
