import { expect, it } from 'vitest';
import { planRetention } from '../../src/retention/tenant-retention.js';
import { describeEachDatabase } from '../support/test-databases.js';

describeEachDatabase('retention plan', (current) => {
  it('keeps the default when there is no tenant yet', async () => {
    expect(await planRetention(current().db, 90)).toEqual({ longestDays: 90, shorter: [] });
  });

  it('takes the longest setting, and counts a setting out of range as the default', async () => {
    const { db } = current();
    await db
      .insertInto('tenants')
      .values([{ id: 'plain' }, { id: 'brief' }, { id: 'broken' }, { id: 'archive' }])
      .execute();
    await db
      .insertInto('tenant_settings')
      .values([
        { tenant_id: 'brief', retention_days: 30 },
        { tenant_id: 'broken', retention_days: 0 },
        { tenant_id: 'archive', retention_days: 400 },
        // Settings of a tenant missing from `tenants` still count: its events may exist.
        { tenant_id: 'orphan', retention_days: 7 },
      ])
      .execute();
    expect(await planRetention(db, 90)).toEqual({
      longestDays: 400,
      shorter: [
        { tenantId: 'brief', retentionDays: 30 },
        { tenantId: 'broken', retentionDays: 90 },
        { tenantId: 'orphan', retentionDays: 7 },
        { tenantId: 'plain', retentionDays: 90 },
      ],
    });
  });
});
