// Public surface of the E2EE key agreement for the client and the simulations.

export { initCrypto, cryptoReady, type RandomBytes } from './primitives.ts';
export { generateIdentity, identityFromSeed, type IdentityKeyPair } from './identity.ts';
export { fingerprint, securityCode } from './security-code.ts';
export { makeKid, mediaKid, senderKidOf, kidSource, kidEpoch, kidIndex, MAX_ROSTER_INDEX, KID_SOURCES, type KidSource } from './kid.ts';
export { deriveFrameKeys, type SenderKey } from './sender-keys.ts';
export { checkDisplayName } from './display-name.ts';
export { checkChatText } from './chat.ts';
export { E2eeError, type E2eeErrorCode, type Result } from './errors.ts';
export { E2EE_VERSION, LIMITS as E2EE_LIMITS, TIMING as E2EE_TIMING } from './constants.ts';
export { MeetingKeyAgent } from './agent.ts';
export { LinkSeal, linkSecretFromHash, newLinkSecret, parseLinkSecret, LINK_SECRET_PATTERN, type RelaySeal } from './link.ts';
export type {
  AgentEvents,
  AgentOptions,
  AgentState,
  AgentTiming,
  ChatEvent,
  ChatGapEvent,
  DecidedBy,
  ErrorEvent,
  LobbyEntry,
  LobbyEvent,
  OutsiderEvent,
  ReceiveKeysEvent,
  RetireEpochEvent,
  RosterEvent,
  RosterMemberView,
  SendKeyEvent,
  StatusEvent,
  TimerHandle,
} from './events.ts';
