import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding the console's built static assets (`index.html` and `assets/`), to be
 * served under `/console/`: hashed files under `assets/` may be cached forever, `index.html`
 * must be revalidated and answers every client route (`/console/setup`, `/console/consent`…).
 * It exists once the package is built (`npm run build`); the published package ships it.
 *
 * @returns the absolute path of the directory.
 * @example
 * ```ts
 * import { consoleAssetsDir } from '@fieldline/console';
 * app.use('/console', express.static(consoleAssetsDir(), { index: 'index.html' }));
 * ```
 */
export function consoleAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'app');
}

/** The path the console's assets are built for (Vite's `base`); mount it there. */
export const CONSOLE_BASE_PATH = '/console/';
