import { defineConfig, type Options } from 'tsup';

/**
 * The build every Fieldline package shares: ESM + CJS + .d.ts for Node 20,
 * with source maps. Packages only name their entry points.
 */
export function fieldlineBuild(entry: Options['entry'] = ['src/index.ts']) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
  });
}
