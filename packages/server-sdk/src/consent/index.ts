export type { DeviceConsentHistory } from './consent-history.js';
export { consentHistory } from './consent-history.js';
export type { ConsentReceipt, ConsentReceiptRequest } from './consent-receipt.js';
export {
  CONSENT_RECEIPT_SIGNATURE_DOMAIN,
  consentReceipt,
  signConsentReceipt,
  verifyConsentReceipt,
} from './consent-receipt.js';
export type { ConsentAuditStep, ConsentServiceOptions } from './consent-service-options.js';
export { currentConsent } from './current-consent.js';
export type { GrantConsentRequest } from './grant-consent.js';
export { grantConsent } from './grant-consent.js';
export type { InitializeConsentRequest } from './initialize-consent.js';
export { initializeConsent } from './initialize-consent.js';
export type { ConsentLedgerEntry, ListConsentLedgerRequest } from './list-consent-ledger.js';
export { listConsentLedger } from './list-consent-ledger.js';
export type { PublishedPolicy, PublishPolicyRequest } from './publish-policy.js';
export { publishPolicy } from './publish-policy.js';
export type { WithdrawConsentRequest } from './withdraw-consent.js';
export { withdrawConsent } from './withdraw-consent.js';
