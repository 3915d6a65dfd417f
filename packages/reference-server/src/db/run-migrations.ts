import { type FieldlineDb, migrateToLatest } from '@fieldline/server-sdk';

/**
 * Brings the schema up to date and names the migrations that ran.
 *
 * @param database - the open database.
 * @returns the names of the migrations applied now, in order; empty when it was up to date.
 * @throws the migration's error, when one fails (it is rolled back).
 * @example
 * ```ts
 * const applied = await runMigrations(database);
 * ```
 */
export async function runMigrations(database: FieldlineDb): Promise<readonly string[]> {
  const result = await migrateToLatest(database.db);
  return (result.results ?? [])
    .filter((migration) => migration.status === 'Success')
    .map((migration) => migration.migrationName);
}
