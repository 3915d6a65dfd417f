export { decodeBase64Url, encodeBase64Url } from './base64url.js';
export type { KeyFormatErrorCode, SealErrorCode } from './crypto-errors.js';
export { isKeyFormatError, isSealError, KeyFormatError, SealError } from './crypto-errors.js';
export type { ExportedIdentity, Identity, ParsedPublicKeys } from './identity.js';
export {
  exportedIdentitySchema,
  exportIdentity,
  generateIdentity,
  identityFromPrivateKeys,
  importIdentity,
  KEY_BYTES,
  KEY_ID_BYTES,
  keyId,
  parsePublicKeys,
  publicKeysOf,
  SIGNATURE_BYTES,
  sign,
  verify,
} from './identity.js';
export { createNativeChacha20Poly1305 } from './native-chacha20-poly1305.js';
export type { MemoryReplayGuard, MemoryReplayGuardOptions, ReplayGuard } from './replay-guard.js';
export { createMemoryReplayGuard } from './replay-guard.js';
export type {
  OpenedJsonMessage,
  OpenedMessage,
  OpenMessageOptions,
  SealJsonOptions,
  SealMessageOptions,
  SenderKeySource,
} from './seal.js';
export {
  DEFAULT_MAX_SKEW_MS,
  openJson,
  openMessage,
  SEAL_HPKE_INFO,
  SEAL_SIGNATURE_DOMAIN,
  sealJson,
  sealMessage,
} from './seal.js';
export type { DecodedSealFrame, SealHeader } from './seal-frame.js';
export {
  decodeSealedBody,
  decodeSealFrame,
  ENC_BYTES,
  encodeSealedBody,
  encodeSealHeader,
  layoutSealFrame,
  MAX_SENDER_ID_BYTES,
  SEAL_VERSION,
  SealKind,
} from './seal-frame.js';
export type {
  AcceptSessionOfferOptions,
  CreateSessionSealerOptions,
  SessionOffer,
} from './session.js';
export {
  acceptSessionOffer,
  commandBoxAad,
  createSessionSealer,
  messageBoxAad,
  SESSION_HPKE_INFO,
  SESSION_SIGNATURE_DOMAIN,
  SessionOpener,
  SessionSealer,
  sessionInfoBytes,
  sessionSignatureBytes,
} from './session.js';
export { isSpkiPin, spkiPinOf } from './spki-pin.js';
