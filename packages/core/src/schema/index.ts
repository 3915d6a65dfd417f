export {
  appClosed,
  appLaunched,
  builtInEventTypes,
  deviceHeartbeat,
  jobReport,
  networkVolume,
  systemActive,
  systemIdle,
  windowFocused,
} from './built-in-event-types.js';
export {
  type ForbiddenCollection,
  type ForbiddenFieldFinding,
  findForbiddenCollection,
} from './collection-boundaries.js';
export {
  EVENT_TYPE_PATTERN,
  type EventEnvelope,
  eventEnvelopeSchema,
  MAX_EVENT_TYPE_LENGTH,
  SCOPE_PATTERN,
} from './envelope.js';
export {
  createEnvelopeFactory,
  type EnvelopeFactory,
  type EnvelopeFactoryOptions,
} from './envelope-factory.js';
export { serializeEnvelope } from './envelope-json.js';
export {
  createEventIdGenerator,
  type EventIdGeneratorOptions,
  eventIdTimestampMs,
  isEventId,
} from './event-id.js';
export {
  type BuiltInEventMap,
  createEventRegistry,
  type EventRegistry,
  type EventRegistryOptions,
  type EventTypeMap,
  type RegisteredEnvelope,
} from './event-registry.js';
export {
  defineEventType,
  type EventDataOf,
  type EventType,
  type EventTypeDefinition,
} from './event-type.js';
export {
  EventDefinitionError,
  type EventDefinitionErrorCode,
  EventValidationError,
  type EventValidationErrorCode,
  isEventDefinitionError,
  isEventValidationError,
  type ValidationIssue,
} from './schema-errors.js';
