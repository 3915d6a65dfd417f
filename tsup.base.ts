import { defineConfig, type Options } from 'tsup';

/**
 * The build every Fieldline package shares: ESM + CJS + .d.ts for Node 20,
 * with source maps. Packages name their entry points, and rarely an extra option.
 */
export function fieldlineBuild(entry: Options['entry'] = ['src/index.ts'], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...extra,
  });
}
