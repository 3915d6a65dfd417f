export type {
  ActivityAggregationOptions,
  ActivityRow,
  DeviceActivityEvent,
} from './activity-row.js';
export { DEFAULT_MAX_OPEN_INTERVAL_MS } from './activity-row.js';
export { affectedDays } from './affected-days.js';
export { aggregateActivity } from './aggregate-activity.js';
export {
  type AnalyticsConsumer,
  type AnalyticsConsumerOptions,
  type AnalyticsLogger,
  createAnalyticsConsumer,
} from './create-analytics-consumer.js';
export { ACTIVITY_LOOK_AHEAD_MS } from './day-windows.js';
export {
  type RecomputeActivityRange,
  type RecomputeActivityResult,
  recomputeActivity,
} from './recompute-activity.js';
export {
  type ActivityPeriod,
  type ActivityRollupOptions,
  type ActivityRollupRow,
  rollupActivity,
} from './rollup-activity.js';
export {
  setTenantAnalyticsSettings,
  type TenantAnalyticsSettingsChange,
  type TenantAnalyticsSettingsUpdate,
} from './set-tenant-analytics-settings.js';
export {
  DEFAULT_TENANT_ANALYTICS_SETTINGS,
  readTenantAnalyticsSettings,
  type TenantAnalyticsSettings,
} from './tenant-analytics-settings.js';
