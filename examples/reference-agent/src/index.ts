// @fieldline/reference-agent: the `fieldline-agent` CLI's commands, for tests and embedding.
// Exports are listed by name so the public surface is reviewed, never implied.

export {
  AGENT_VERSION,
  type EnrollmentSummary,
  ONE_SHOT_RETRY,
  type OpenCliAgentOptions,
  openCliAgent,
  readEnrollmentSummary,
} from './agent/open-cli-agent.js';
export { bufferedIo, type CommandIo, type CommandOutcome } from './cli/command-io.js';
export { type AgentCliCommand, parseAgentArgs, USAGE } from './cli/parse-agent-args.js';
export {
  createIdleCollector,
  createNetworkVolumeCollector,
  createProcessActivityCollector,
  createWindowFocusCollector,
  type IdleCollectorOptions,
  type LinuxCollectorsOptions,
  linuxCollectors,
  type NetworkVolumeCollectorOptions,
  type ProcessActivityCollectorOptions,
  type WindowFocusCollectorOptions,
} from './collectors/index.js';
export {
  type ConsentCommandOptions,
  type ConsentOutcome,
  consentCommand,
  openInBrowser,
} from './commands/consent-command.js';
export { describeError } from './commands/describe-error.js';
export {
  type EnrollCommandOptions,
  type EnrollOutcome,
  enrollCommand,
} from './commands/enroll-command.js';
export {
  drainSpool,
  type FlushCommandOptions,
  type FlushOutcome,
  flushCommand,
} from './commands/flush-command.js';
export {
  type JobCommandOptions,
  type JobOutcome,
  jobCommand,
  type OutputSink,
} from './commands/job-command.js';
export { type RunCommandOptions, type RunOutcome, runCommand } from './commands/run-command.js';
export {
  readStatusFile,
  type StatusCommandOptions,
  type StatusOutcome,
  statusCommand,
} from './commands/status-command.js';
export {
  type TrackCommandOptions,
  type TrackOutcome,
  trackCommand,
} from './commands/track-command.js';
export { consentByScope, describeConsent } from './format/describe-consent.js';
export { COLLECTOR_SCOPES, formatStatus, type StatusSource } from './format/format-status.js';
export {
  isResticJsonBackup,
  parseResticSummary,
  RESTIC_SUMMARY_FIELDS,
} from './restic/parse-restic-summary.js';
