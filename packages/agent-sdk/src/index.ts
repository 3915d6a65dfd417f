// @fieldline/agent-sdk: the device side of Fieldline.
// Exports are listed by name so the public surface is reviewed, never implied.

export { Agent, type AgentOptions, createAgent } from './agent.js';
export { AgentError, type AgentErrorCode, isAgentError } from './agent-errors.js';
export type {
  AgentEvents,
  AgentLifecycle,
  AgentStatus,
  ConnectionState,
  DropReason,
  FlushResult,
  JobRecord,
  ShutdownOptions,
  TrackResult,
} from './agent-types.js';
export type {
  Collector,
  CollectorEmit,
  CollectorStartOptions,
  CollectorSupport,
} from './collector.js';
export type { ConsentLink, ConsentLinkOptions } from './consent-link.js';
export type { DeliveryOutcome } from './delivery.js';
export type { EnrollOptions } from './enrollment.js';
export {
  isRealtimeError,
  RealtimeError,
  type RealtimeErrorCode,
} from './realtime/realtime-errors.js';
export type {
  ChannelHandler,
  ChannelMessage,
  CommandAnswer,
  CommandHandler,
  HandledCommand,
  RealtimeConnectionChange,
  RealtimeOptions,
  RealtimeState,
  RealtimeStatus,
  ReceivedCommand,
  RequestOptions,
} from './realtime/realtime-types.js';
export type { SpoolKeyMismatch } from './spool/spool.js';
export { isSpoolError, SpoolError, type SpoolErrorCode } from './spool/spool-error.js';
export {
  nodeSpoolFileSystem,
  type SpoolDirEntry,
  type SpoolFileHandle,
  type SpoolFileStat,
  type SpoolFileSystem,
} from './spool/spool-file-system.js';
export { readJobStates } from './state/read-job-states.js';
export { type StatePaths, statePaths } from './state/state-files.js';
export type { CurrentStatusFile, StatusWriteOptions } from './state/status-file-writer.js';
export {
  createHttpTransport,
  type FetchLike,
  type HttpTransportOptions,
  type Transport,
  type TransportResponse,
} from './transport/http-transport.js';
export type { AgentTlsOptions } from './transport/tls-connect-options.js';
export { isTlsPinError, TlsPinError } from './transport/tls-pin-error.js';
