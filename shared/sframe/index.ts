// Public API of the SFrame (RFC 9605) core. Browser-, Worker- and Node-safe:
// only WebCrypto (globalThis.crypto.subtle) and standard JS.

export type { SFrameError, SFrameErrorCode, MalformedDetail, Result } from './errors.ts';
export { ok, fail } from './errors.ts';
export { bytesToHex, hexToBytes, MAX_U64, type Bytes } from './bytes.ts';
export { encodeHeader, decodeHeader, headerLength, MAX_HEADER_LENGTH, type SFrameHeader } from './header.ts';
export { CIPHER_SUITES, DEFAULT_SUITE, getSuite, type CipherSuite, type CipherSuiteId, type HashName } from './suites.ts';
export { hkdfExtract, hkdfExpand } from './hkdf.ts';
export { deriveSFrameSecrets, createKeyContext, sframeLabel, type KeyContext, type SFrameSecrets } from './derive.ts';
export { importAeadKey, aeadSeal, aeadOpen, splitCtrHmacKey, type AeadKey } from './aead.ts';
export { sframeEncrypt, sframeDecrypt, sframeNonce, sframeAad, type OpenedFrame } from './frame.ts';
export {
  clearByteCount,
  normalizeCodec,
  VP8_KEYFRAME_CLEAR_BYTES,
  VP8_DELTA_CLEAR_BYTES,
  OPUS_CLEAR_BYTES,
  type MediaCodec,
} from './clear-bytes.ts';
export {
  encryptMediaFrame,
  decryptMediaFrame,
  parseMediaFrame,
  openMediaFrame,
  setGrowInPlace,
  GROW_FROM_BYTES,
  type MediaFrameParts,
  type DecryptedMediaFrame,
} from './media-frame.ts';
export { ReplayWindow, REPLAY_WINDOW } from './replay.ts';
export {
  SFrameKeyStore,
  DEFAULT_RESERVE_BLOCK,
  type KeyStoreOptions,
  type ReceiveKeyOptions,
  type EncryptedFrame,
  type DecryptedFrame,
} from './keystore.ts';
export { SlottedReceiveKeys, COMPACT_KID_SLOTS, compactKidOf, type SlottedKeysOptions, type SlottedFrame } from './slotted-keys.ts';
