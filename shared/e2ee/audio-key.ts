// The microphone's frame key (protocol.md §7.3a). Audio frames are small
// (~60 bytes of Opus every 20 ms), so SFrame's per-frame overhead matters
// there: the microphone uses the 64-bit-tag suite AES_128_CTR_HMAC_SHA256_64
// and a compact KID (the epoch modulo 8, inline in the header's config byte),
// which together add 11-12 bytes per frame instead of 22.
//
// A compact KID repeats: every sender uses the same eight values, and every
// eighth epoch reuses one. So the KID cannot keep (key, nonce) pairs apart;
// the key must. The microphone's RFC 9605 base key is therefore derived with
// its own label from the sender's epoch base key (protocol.md §7.2), which is
// already unique per meeting, instance, epoch and sender (its HKDF salt names
// the meeting and instance, its info the epoch, roster index and participant):
//
//   audio_base_key = HKDF-SHA256(IKM  = sender base key, salt = "",
//                                info = T("e2ee-meet/v1/sframe-audio-key", u64 epoch, u32 index, u32 suite),
//                                L    = 32)
//
// and RFC 9605 then derives the SFrame key and salt from it under the compact
// KID. Distinct (meeting instance, epoch, sender) give independent audio keys,
// and within one key the sender's counter never repeats (one send store per
// worker, whose counter per KID only grows), so no (key, nonce) pair repeats.

import { hkdfExpand, hkdfExtract } from '../sframe/hkdf.ts';
import { compactKidOf } from '../sframe/slotted-keys.ts';
import type { CipherSuiteId } from '../sframe/suites.ts';
import { transcript } from './encoding.ts';
import { kidEpoch, kidIndex } from './kid.ts';

/** AES_128_CTR_HMAC_SHA256_64: a 64-bit tag (RFC 9605 §4.5). */
export const AUDIO_SUITE: CipherSuiteId = 2;
export const AUDIO_KEY_LABEL = 'e2ee-meet/v1/sframe-audio-key';
const AUDIO_BASE_KEY_BYTES = 32;

/** HKDF info of a sender's audio base key: names the epoch, the sender's roster index and the suite. */
export function audioKeyInfo(senderKid: bigint): Uint8Array {
  return transcript(AUDIO_KEY_LABEL, { u64: kidEpoch(senderKid) }, { u32: kidIndex(senderKid) }, { u32: AUDIO_SUITE });
}

/** The RFC 9605 base key of a sender's microphone frames, from its epoch base key (the caller erases both when done). */
export async function deriveAudioBaseKey(senderBaseKey: Uint8Array, senderKid: bigint): Promise<Uint8Array> {
  const prk = await hkdfExtract('SHA-256', new Uint8Array(0), senderBaseKey);
  try {
    return await hkdfExpand('SHA-256', prk, audioKeyInfo(senderKid), AUDIO_BASE_KEY_BYTES);
  } finally {
    prk.fill(0);
  }
}

/** The compact KID a sender's microphone frames of `senderKid`'s epoch carry (0-7). */
export function audioKid(senderKid: bigint): bigint {
  return compactKidOf(kidEpoch(senderKid));
}
