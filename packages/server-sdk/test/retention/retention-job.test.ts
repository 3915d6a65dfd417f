import { isInvalidArgumentError } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { expect, it } from 'vitest';
import type { RetentionReport } from '../../src/retention/enforce-retention.js';
import { DAY_MS, eventPartitionName, utcDayStart } from '../../src/retention/event-partitions.js';
import { createRetentionJob } from '../../src/retention/retention-job.js';
import { describeEachDatabase } from '../support/test-databases.js';

describeEachDatabase('retention job', (current) => {
  it('runs at start, reports each run, and stops after the run in progress', async () => {
    const nowMs = utcDayStart(Date.now()) + 30 * DAY_MS;
    const reports: RetentionReport[] = [];
    let firstRun!: () => void;
    const ran = new Promise<void>((resolve) => {
      firstRun = resolve;
    });
    const job = createRetentionJob({
      db: current().db,
      clock: createFakeClock({ nowMs }),
      onRun: (report) => {
        reports.push(report);
        firstRun();
      },
    });
    job.start();
    await ran;
    await job.stop();
    expect(reports).toHaveLength(1);
    expect(reports[0]?.ranAt).toBe(new Date(nowMs).toISOString());
    expect(reports[0]?.createdPartitions).toContain(eventPartitionName(utcDayStart(nowMs)));
    const again = await job.run();
    expect(again.createdPartitions).toEqual([]);
    expect(reports).toHaveLength(2);
  });

  it('refuses an interval that is not a positive integer', () => {
    let caught: unknown;
    try {
      createRetentionJob({ db: current().db, intervalMs: 0 });
    } catch (error) {
      caught = error;
    }
    expect(isInvalidArgumentError(caught)).toBe(true);
  });
});
