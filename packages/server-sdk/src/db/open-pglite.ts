import { readFile, rm } from 'node:fs/promises';
import type { PGliteCreateOptions, PGliteModule } from './database-drivers.js';
import type { PGliteLike } from './pglite-dialect.js';
import { pgliteStartParams } from './pglite-settings.js';
import { findPGliteTemplate, seedPGliteDataDir } from './pglite-template.js';

/** The part of the PGlite class that {@link openPGlite} uses (the class itself, e.g. imported lazily). */
export type PGliteClass = PGliteModule['PGlite'];

// PGlite's own reading of `dataDir`: a path (or file://path) is a directory on disk,
// nothing or memory:// is in memory, other schemes are browser stores.
function storageOf(
  dataDir: string,
): { kind: 'memory' } | { kind: 'disk'; path: string } | { kind: 'other' } {
  if (dataDir === '' || dataDir.startsWith('memory://')) return { kind: 'memory' };
  if (dataDir.startsWith('file://')) return { kind: 'disk', path: dataDir.slice('file://'.length) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dataDir)) return { kind: 'other' };
  return { kind: 'disk', path: dataDir };
}

function warnTemplateUnused(error: unknown): void {
  process.emitWarning(
    `The prebuilt PGlite data directory could not be used (${(error as Error).message}); ` +
      'running initdb instead, which takes longer and much more memory.',
    { code: 'FIELDLINE_PGLITE_TEMPLATE' },
  );
}

/**
 * Opens PGlite with Fieldline's memory settings ({@link pgliteStartParams}), and makes a new
 * database from the prebuilt template when there is one: unpacked into a missing or empty data
 * directory, or loaded into an in-memory one. If the template cannot be unpacked or the
 * database made from it does not start, the directory is removed again and PGlite runs its
 * own initdb, after a process warning (code `FIELDLINE_PGLITE_TEMPLATE`).
 *
 * @param pglite - the PGlite class.
 * @param dataDir - PGlite's `dataDir`: a path, `file://` path or `memory://`.
 * @param options - further PGlite options (e.g. `parsers`); a `startParams` given here is used as is.
 * @param template - the template's path; `undefined` runs PGlite's initdb.
 * @returns the ready PGlite instance.
 * @throws the error of PGlite's own start when that fails.
 * @example
 * ```ts
 * const pglite = await openPGlite(PGlite, '.fieldline/db', { parsers });
 * ```
 */
export async function openPGlite(
  pglite: PGliteClass,
  dataDir: string,
  options: PGliteCreateOptions = {},
  template: string | undefined = findPGliteTemplate(),
): Promise<PGliteLike> {
  const tuned: PGliteCreateOptions = {
    ...options,
    startParams: options.startParams ?? pgliteStartParams(pglite.defaultStartParams),
  };
  const storage = storageOf(dataDir);
  if (template === undefined || storage.kind === 'other') return pglite.create(dataDir, tuned);
  if (storage.kind === 'memory') {
    try {
      const loadDataDir = new Blob([await readFile(template)], { type: 'application/gzip' });
      return await pglite.create(dataDir, { ...tuned, loadDataDir });
    } catch (error) {
      warnTemplateUnused(error);
      return pglite.create(dataDir, tuned);
    }
  }
  let seeded: boolean;
  try {
    seeded = await seedPGliteDataDir(template, storage.path);
  } catch (error) {
    warnTemplateUnused(error);
    return pglite.create(dataDir, tuned);
  }
  if (!seeded) return pglite.create(dataDir, tuned);
  try {
    return await pglite.create(dataDir, tuned);
  } catch (error) {
    // The directory is wholly the template's (it was missing or empty), so it can go.
    warnTemplateUnused(error);
    await rm(storage.path, { recursive: true, force: true });
    return pglite.create(dataDir, tuned);
  }
}
