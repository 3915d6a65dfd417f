export { canCollect } from './can-collect.js';
export { canonicalJson, canonicalJsonBytes } from './canonical-json.js';
export type {
  ConsentIssue,
  ConsentRecordErrorCode,
  ConsentRecordErrorDetails,
  ConsentTransitionErrorCode,
  ConsentTransitionErrorDetails,
} from './consent-errors.js';
export {
  CONSENT_TRANSITION_ERROR_CODES,
  ConsentRecordError,
  ConsentTransitionError,
  isConsentRecordError,
  isConsentTransitionError,
} from './consent-errors.js';
export type {
  ConsentEvent,
  ConsentEventType,
  ConsentExpireEvent,
  ConsentGrantEvent,
  ConsentPolicyPublishedEvent,
  ConsentWithdrawEvent,
} from './consent-event.js';
export { CONSENT_EVENT_TYPES, consentEventSchema } from './consent-event.js';
export type { ConsentMachine, ConsentMachineOptions } from './consent-machine.js';
export { createConsentMachine } from './consent-machine.js';
export type {
  ConsentCollectionMethod,
  ConsentRecord,
  ConsentRecordController,
  ConsentRecordPolicy,
  ConsentRecordPurpose,
  ConsentRecordState,
  ConsentRecordSubject,
  ConsentRecordTimestamps,
} from './consent-record.js';
export {
  CONSENT_COLLECTION_METHODS,
  CONSENT_RECORD_VERSION,
  canonicalConsentRecordBytes,
  consentRecordSchema,
  MAX_RETENTION_DAYS,
  parseConsentRecord,
} from './consent-record.js';
export type { BuiltInScope } from './consent-scopes.js';
export {
  ACTIVITY_SCOPE,
  BUILT_IN_SCOPES,
  NETWORK_SCOPE,
  OPERATIONAL_SCOPE,
} from './consent-scopes.js';
export type {
  ConsentState,
  ConsentStatus,
  ExpiredConsentState,
  GrantedConsentState,
  PendingConsentState,
  UnknownConsentState,
  WithdrawnConsentState,
} from './consent-state.js';
export { CONSENT_STATUSES, consentStateSchema, UNKNOWN_CONSENT_STATE } from './consent-state.js';
export { transitionConsent, transitionConsentOrThrow } from './consent-transition.js';
export type {
  ConsentPurposeInput,
  ConsentRecordPolicyInput,
  CreateConsentRecordOptions,
} from './create-consent-record.js';
export { createConsentRecord } from './create-consent-record.js';
export { policyTextSha256 } from './policy-text-hash.js';
