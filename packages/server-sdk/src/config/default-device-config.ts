import type { DeviceConfig } from '@fieldline/core';

/**
 * The config a device gets when neither its tenant nor the device has one:
 * every built-in collector on, flush every 5 s or 500 events, heartbeat every
 * 60 s, no scheduled jobs. `policyVersion` is filled in from the tenant's
 * latest policy.
 */
export const DEFAULT_DEVICE_CONFIG: DeviceConfig = Object.freeze({
  collectors: {
    'app-activity': { enabled: true, intervalMs: 2_000 },
    'window-focus': { enabled: true, intervalMs: 1_000 },
    idle: { enabled: true, intervalMs: 5_000 },
    'network-volume': { enabled: true, intervalMs: 60_000 },
  },
  flush: { maxBatchEvents: 500, maxBatchBytes: 512 * 1024, flushIntervalMs: 5_000 },
  schedule: [],
  policyVersion: null,
  heartbeatIntervalMs: 60_000,
});
