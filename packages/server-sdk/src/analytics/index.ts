export type {
  ActivityAggregationOptions,
  ActivityRow,
  DeviceActivityEvent,
} from './activity-row.js';
export { DEFAULT_MAX_OPEN_INTERVAL_MS } from './activity-row.js';
export { affectedDays } from './affected-days.js';
export { aggregateActivity } from './aggregate-activity.js';
export {
  type ActivityPeriod,
  type ActivityRollupOptions,
  type ActivityRollupRow,
  rollupActivity,
} from './rollup-activity.js';
