import { defineConfig } from 'vite';

// The web application: static assets with hashed names under dist/app, served at /console/.
// React's JSX goes through esbuild's automatic runtime (tsconfig `jsx: react-jsx`); no plugin.
export default defineConfig({
  root: 'app',
  base: '/console/',
  publicDir: false,
  build: {
    outDir: '../dist/app',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    rollupOptions: {
      // zod's sources carry `@__PURE__` notes Rollup cannot place; they only cost the warning.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/zod/')) return;
        warn(warning);
      },
    },
  },
});
