// The meeting link's secret and the envelope it puts around every E2EE relay
// payload (protocol.md §2a). The secret travels only in the link's fragment
// (`#s=...`), which browsers never send to a server. Every payload a
// participant relays is sealed with a key derived from it, bound to the
// meeting, the meeting instance and the sender the server names, so:
//  - whoever lacks the link (the server included) can neither read a payload
//    (names, identity keys, rosters) nor make one a participant accepts;
//  - the server cannot move a payload to another sender or another meeting.
// Pure and synchronous: the agent seals on send and opens on receipt.

import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { fromBase64Url, toBase64Url, transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import { HkdfSha256 } from './hkdf.ts';
import { open, seal, systemRandom, wipe, type RandomBytes } from './primitives.ts';

/** 22 to 86 base64url characters: at least 128 bits, at most 512. */
export const LINK_SECRET_PATTERN = /^[A-Za-z0-9_-]{22,86}$/;
/** Bytes of a secret we make: 256 bits, 43 characters. */
export const NEW_LINK_SECRET_BYTES = 32;
/** Marks a sealed payload; a version change gets a new prefix. */
const PREFIX = 'L1.';
const KEY_BYTES = 32;
/** Nonce (24) and tag (16) of XChaCha20-Poly1305. */
export const LINK_ENVELOPE_OVERHEAD_BYTES = 24 + 16;

/** A fresh secret from the system's CSPRNG, as it appears in a link. */
export function newLinkSecret(random: RandomBytes = systemRandom): string {
  return toBase64Url(random(NEW_LINK_SECRET_BYTES));
}

/** The secret's bytes, or why the text is not one (canonical base64url only, so one secret has one spelling). */
export function parseLinkSecret(text: string | null | undefined): Result<Uint8Array> {
  if (text === null || text === undefined || text === '') return fail('LINK_MISSING', 'the meeting link has no secret');
  if (!LINK_SECRET_PATTERN.test(text)) return fail('LINK_MALFORMED', 'the secret in the link is not 22 to 86 base64url characters');
  const bytes = fromBase64Url(text);
  if (!bytes) return fail('LINK_MALFORMED', 'the secret in the link is not canonical base64url');
  return ok(bytes);
}

/** The secret in a location hash such as `#s=SECRET` (other fragment parameters are ignored). */
export function linkSecretFromHash(hash: string): Result<Uint8Array> {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  return parseLinkSecret(params.get('s'));
}

/** Seals and opens relay payloads for one participant of one meeting instance. */
export interface RelaySeal {
  /** The payload as relayed: sealed by `from`. */
  seal(from: string, payload: string): string;
  /** The payload `from` sealed, or NO_LINK_PROOF. */
  open(from: string, relayed: string): Result<string>;
  /** Erases the keys. */
  destroy(): void;
}

/** HKDF-SHA256 of the secret, bound to the meeting ID: one key per (link, meeting). */
export function deriveLinkKey(secret: Uint8Array, meetingId: string): Uint8Array {
  const hkdf = new HkdfSha256(secret, transcript(CONTEXT.linkSalt, { u32: E2EE_VERSION }));
  try {
    return hkdf.expand(KEY_BYTES, transcript(CONTEXT.linkKey, meetingId));
  } finally {
    hkdf.destroy();
  }
}

/** Associated data of one envelope: meeting, instance and sender. */
export function envelopeAd(meetingId: string, instanceId: string, from: string): Uint8Array {
  return transcript(CONTEXT.linkEnvelope, { u32: E2EE_VERSION }, meetingId, instanceId, from);
}

/** XChaCha20-Poly1305 under the link key: `L1.` + base64url(nonce ‖ ciphertext ‖ tag). */
export class LinkSeal implements RelaySeal {
  private readonly key: Uint8Array;

  constructor(
    secret: Uint8Array,
    private readonly meetingId: string,
    private readonly instanceId: string,
    private readonly random: RandomBytes = systemRandom,
  ) {
    this.key = deriveLinkKey(secret, meetingId);
  }

  seal(from: string, payload: string): string {
    const box = seal(new TextEncoder().encode(payload), envelopeAd(this.meetingId, this.instanceId, from), this.key, this.random);
    return PREFIX + toBase64Url(box);
  }

  open(from: string, relayed: string): Result<string> {
    const box = relayed.startsWith(PREFIX) ? fromBase64Url(relayed.slice(PREFIX.length)) : undefined;
    if (!box) return fail('NO_LINK_PROOF', `payload from '${from}' is not sealed with a meeting link`);
    const plain = open(box, envelopeAd(this.meetingId, this.instanceId, from), this.key);
    if (!plain) return fail('NO_LINK_PROOF', `payload from '${from}' is not sealed with this meeting link`);
    const text = new TextDecoder('utf-8', { fatal: false }).decode(plain);
    wipe(plain);
    return ok(text);
  }

  destroy(): void {
    wipe(this.key);
  }
}

/** The largest payload that still fits `maxChars` once sealed (ASCII payloads: one byte per character). */
export function innerPayloadLimit(maxChars: number): number {
  const boxChars = maxChars - PREFIX.length;
  return Math.floor((boxChars * 3) / 4) - LINK_ENVELOPE_OVERHEAD_BYTES;
}
