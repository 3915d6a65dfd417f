import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// PGlite's WebAssembly has SIMD instructions, which Liftoff compiles on x64 only with SSE4.1;
// under --liftoff-only a function Liftoff cannot compile is a fatal error, not a fallback.
function liftoffCompilesPGlite(): boolean {
  if (process.arch === 'arm64') return true;
  if (process.arch !== 'x64') return false;
  // Every x64 Mac that runs Node 20 has SSE4.1.
  if (process.platform === 'darwin') return true;
  if (process.platform !== 'linux') return false;
  try {
    return /^flags\s*:.*\bsse4_1\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Keeps WebAssembly on V8's baseline compiler (Liftoff), without the optimizing tier. For
 * PGlite that is ~50 MB less resident memory, and no 50-100 MB peaks while the optimizer
 * compiles hot PostgreSQL functions (its memory is never all given back), for a few percent of
 * database speed. A process-wide V8 setting, so it belongs to the application: call it before
 * the database is opened, as V8 reads it when a module is compiled. Does nothing on a CPU
 * where Liftoff cannot compile all of PGlite.
 *
 * @returns whether the setting was applied.
 * @example
 * ```ts
 * useBaselineWasmCompiler();
 * const database = await openDatabase({ dataDir });
 * ```
 */
export function useBaselineWasmCompiler(): boolean {
  if (!liftoffCompilesPGlite()) return false;
  // --liftoff-only implies the other two on a command line; set here, they are spelled out.
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--no-wasm-tier-up');
  setFlagsFromString('--no-wasm-dynamic-tiering');
  return true;
}
