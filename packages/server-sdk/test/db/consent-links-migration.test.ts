// Migration 0014: policies published before it get their text's hash; down and up again.
import { policyTextSha256 } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import { consentLinksMigration } from '../../src/db/migrations/0014-consent-links.js';
import { describeEachDatabase } from '../support/test-databases.js';

const runUp = (db: Kysely<FieldlineDatabase>) =>
  db.transaction().execute((trx) => consentLinksMigration.up(trx));
const runDown = (db: Kysely<FieldlineDatabase>) =>
  db.transaction().execute(async (trx) => {
    await consentLinksMigration.down?.(trx);
  });

describeEachDatabase('migration 0014 (consent links)', (current) => {
  it("hashes the text of policies published before it, the way core's policyTextSha256 does", async () => {
    const { db } = current();
    await runDown(db);
    const text = 'Wir erfassen App-Nutzung — nie Inhalte. 🛡️';
    await db.insertInto('tenants').values({ id: 'acme' }).execute();
    await sql`insert into policies (tenant_id, version, scopes, text)
      values ('acme', 1, '["activity"]', ${text})`.execute(db);
    await runUp(db);
    const row = await db
      .selectFrom('policies')
      .select(['text_sha256', 'purposes', 'summary'])
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ text_sha256: policyTextSha256(text), purposes: null, summary: null });
    const tables = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_name like 'consent_%' order by 1`.execute(db);
    expect(tables.rows.map((r) => r.name)).toEqual([
      'consent_ledger',
      'consent_link_nonces',
      'consent_page_sessions',
      'consent_refusals',
    ]);
  });
});
