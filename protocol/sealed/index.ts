/**
 * End-to-end sealing between callers and devices (issue 12): the edge relays what it cannot
 * read. Runtime-agnostic (WebCrypto, jose, hpke): the same code runs in Node, workerd and
 * browsers. Device-side storage (key file, replay memory on disk) is in device/sealed-*.ts.
 *
 *  - requests and replies:  sealRequest / openRequest (HPKE, after RFC 9458; inner request in RFC 9292 binary HTTP)
 *  - agent messages:        sealMessage / openMessage (the same envelope, another label)
 *  - who sealed it:         senderKey (the caller's signing key) / SenderSet (the device's e2e.senders)
 *  - events to owners:      sealEvent / openEvent (device-signed, JWE to every owner key)
 *  - key binding:           signStatement / verifyStatement / fingerprint (pin = sha256:<RFC 7638 thumbprint>)
 *  - a caller's state:      SealedCaller
 */

export {
  BHTTP_LIMITS,
  type BhttpLimits,
  type DecodedRequest,
  type DecodedResponse,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type InnerRequest,
  type InnerResponse,
} from "./bhttp.ts";
export { type CallerPinState, SealedCaller } from "./caller.ts";
export { type ReplayGuard, SEALED_OVERHEAD, type TimeWindow } from "./envelope.ts";
export { errorCodeOf, isSealedError, SEALED_ERROR_CODES, SealedError, type SealedErrorCode } from "./errors.ts";
export { EVENT_SIGNATURE_TYP, generateOwnerKey, type InnerEvent, type OpenedEvent, openEvent, sealEvent } from "./events.ts";
export { isMediaType, KEY_STATEMENT_MEDIA_TYPE, SEALED_MEDIA_TYPES, SEALED_NAME } from "./media-types.ts";
export { type InnerMessage, MESSAGE_WINDOW, type OpenedMessage, openMessage, sealMessage } from "./message.ts";
export { type Admission, MemoryReplayGuard, REPLAY_CAPACITY, type ReplaySnapshot, ReplayWindow } from "./replay.ts";
export { type OpenedRequest, openRequest, REQUEST_WINDOW, type SealedRequest, sealRequest } from "./request.ts";
export { type SenderCheck, type SenderKey, SenderSet, senderKey, senderPublicJwk } from "./sender.ts";
export {
  fingerprint,
  KEY_STATEMENT_TYP,
  type KeyStatement,
  parsePin,
  STATEMENT_CLOCK_TOLERANCE_S,
  signStatement,
  type VerifiedStatement,
  verifyStatement,
} from "./statement.ts";
export {
  generateEncryptionKey,
  importOpeningKey,
  type OpeningKey,
  type SealingKey,
  SUITE,
  type SuiteIds,
  sealingKeyFromPublic,
  type X25519PrivateJwk,
} from "./suite.ts";
