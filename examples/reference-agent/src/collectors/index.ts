export { createIdleCollector, type IdleCollectorOptions } from './idle-collector.js';
export { type LinuxCollectorsOptions, linuxCollectors } from './linux-collectors.js';
export {
  createNetworkVolumeCollector,
  type InterfaceCounters,
  type NetworkVolumeCollectorOptions,
  parseNetDev,
} from './network-volume-collector.js';
export {
  type IntervalScheduler,
  type PollingCollector,
  type PollingOptions,
  systemScheduler,
} from './poll-loop.js';
export {
  createProcessActivityCollector,
  type ProcessActivityCollectorOptions,
} from './process-activity-collector.js';
export {
  createWindowFocusCollector,
  type WindowFocusCollectorOptions,
} from './window-focus-collector.js';
