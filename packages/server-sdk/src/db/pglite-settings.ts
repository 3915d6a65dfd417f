/**
 * PostgreSQL settings of the embedded database, sized for one in-process connection on a
 * laptop rather than for a server. PGlite keeps PostgreSQL's defaults, 128 MB of shared
 * buffers among them, and the WebAssembly memory they occupy is never given back, so a
 * default PGlite holds ~300 MB from its first query on. With 16 MB of shared buffers the
 * files that do not fit stay in the operating system's page cache, one `read` away.
 * `maintenance_work_mem` bounds the memory of an index build or a vacuum (64 MB by default),
 * which would otherwise stay resident after the first large one.
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
  maintenance_work_mem: '16MB',
};

/**
 * The startup parameters of the embedded PostgreSQL: PGlite's own, then
 * {@link PGLITE_SETTINGS} as `-c name=value` options (the later one wins).
 *
 * @param defaults - PGlite's parameters (`PGlite.defaultStartParams`).
 * @returns the parameters to pass as the `startParams` option.
 * @example
 * ```ts
 * const pglite = await PGlite.create(dir, { startParams: pgliteStartParams(PGlite.defaultStartParams) });
 * ```
 */
export function pgliteStartParams(defaults: readonly string[]): string[] {
  return [
    ...defaults,
    ...Object.entries(PGLITE_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
}
