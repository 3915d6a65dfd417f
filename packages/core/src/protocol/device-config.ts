import { z } from 'zod';

/** One collector's settings in the device config. */
export const collectorConfigSchema = z.strictObject({
  enabled: z.boolean(),
  intervalMs: z.number().int().positive().optional(),
});

/** A job the agent runs on a schedule. */
export const scheduledJobSchema = z.strictObject({
  name: z.string().min(1).max(128),
  intervalMs: z.number().int().positive(),
});

/**
 * What `GET /v1/config` returns: collectors, flush policy, job schedule and the
 * policy version the device must have consent for. Served with an ETag.
 */
export const deviceConfigSchema = z.strictObject({
  collectors: z.record(z.string(), collectorConfigSchema),
  flush: z.strictObject({
    maxBatchEvents: z.number().int().positive(),
    maxBatchBytes: z.number().int().positive(),
    flushIntervalMs: z.number().int().positive(),
  }),
  schedule: z.array(scheduledJobSchema),
  policyVersion: z.number().int().positive().nullable(),
  heartbeatIntervalMs: z.number().int().positive(),
});

/** The device config. */
export type DeviceConfig = z.infer<typeof deviceConfigSchema>;
