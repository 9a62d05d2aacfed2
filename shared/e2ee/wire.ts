// Wire format of relay payloads: one JSON object per payload, binary fields as
// unpadded base64url. Parsing is the boundary: every field is checked for
// type, size and format here, and anything off becomes an error value. (The
// JSON is only transport; signatures cover the transcripts in encoding.ts.)

import type { Ack } from './ack.ts';
import { ADMISSION_DECISIONS, type Admission, type AdmissionDecision } from './admission.ts';
import type { Announcement } from './announcement.ts';
import { MAX_CHAT_PADDED, type ChatMessage } from './chat.ts';
import { COMMIT_REASONS, type Commit, type CommitReason } from './commit.ts';
import { E2EE_VERSION, ID_PATTERN, LIMITS, SIZE } from './constants.ts';
import { checkDisplayName } from './display-name.ts';
import { fromBase64Url, toBase64Url } from './encoding.ts';
import { E2eeError, fail, ok, type E2eeErrorCode, type Result } from './errors.ts';
import type { KeyEntry, KeysMessage } from './key-message.ts';
import { LINK_SECRET_MAX_BYTES, LINK_SECRET_MIN_BYTES, type LinkUpdate } from './link-update.ts';
import type { ResendRequest } from './resend.ts';
import type { RosterDelta } from './roster-delta.ts';
import type { Roster, RosterMember } from './roster.ts';

export interface Fragment {
  /** Random ID shared by the fragments of one message. */
  messageId: string;
  index: number;
  count: number;
  data: string;
}

export type WireMessage =
  | { type: 'announce'; announcement: Announcement }
  | { type: 'roster'; roster: Roster }
  | { type: 'delta'; delta: RosterDelta }
  | { type: 'keys'; keys: KeysMessage }
  | { type: 'ack'; ack: Ack }
  | { type: 'commit'; commit: Commit }
  | { type: 'resend'; resend: ResendRequest }
  | { type: 'admission'; admission: Admission }
  | { type: 'chat'; chat: ChatMessage }
  | { type: 'link'; link: LinkUpdate }
  | { type: 'frag'; fragment: Fragment };

export type MessageType = WireMessage['type'];

// ------------------------------------------------------------------ encoding

const b64 = toBase64Url;

function memberJson(m: RosterMember): object {
  return { id: m.participantId, name: m.name, ik: b64(m.identityKey), dh: b64(m.dhKey), nonce: b64(m.nonce), sig: b64(m.signature) };
}

function toJson(m: WireMessage): object {
  const head = { t: m.type, v: E2EE_VERSION };
  switch (m.type) {
    case 'announce': {
      const a = m.announcement;
      return { ...head, meeting: a.meetingId, instance: a.instanceId, ...memberJson(a) };
    }
    case 'roster': {
      const r = m.roster;
      return {
        ...head,
        meeting: r.meetingId,
        instance: r.instanceId,
        epoch: r.epoch,
        prev: b64(r.prevHash),
        locked: r.locked,
        excluded: r.excluded,
        unacked: r.unacked,
        prov: r.provisional,
        members: r.members.map(memberJson),
        sig: b64(r.signature),
      };
    }
    case 'delta': {
      const d = m.delta;
      return {
        ...head,
        meeting: d.meetingId,
        instance: d.instanceId,
        epoch: d.epoch,
        prev: b64(d.prevHash),
        hash: b64(d.hash),
        locked: d.locked,
        removed: d.removed,
        added: d.added.map(memberJson),
        exAdd: d.excludedAdded,
        exDrop: d.excludedDropped,
        unacked: d.unacked,
        prov: d.provisional,
        sig: b64(d.signature),
      };
    }
    case 'keys': {
      const k = m.keys;
      const entries = k.entries.map((e) => ({ to: e.to, echo: b64(e.echo), dh: b64(e.dh), box: b64(e.box) }));
      return {
        ...head,
        meeting: k.meetingId,
        instance: k.instanceId,
        epoch: k.epoch,
        leader: k.leaderId,
        rosterHash: b64(k.rosterHash),
        sdh: b64(k.senderDh),
        entries,
        sig: b64(k.signature),
      };
    }
    case 'ack': {
      const a = m.ack;
      return {
        ...head,
        meeting: a.meetingId,
        instance: a.instanceId,
        epoch: a.epoch,
        id: a.participantId,
        rosterHash: b64(a.rosterHash),
        nonce: b64(a.nonce),
        ...(a.next ? { next: b64(a.next) } : {}),
        sig: b64(a.signature),
      };
    }
    case 'commit': {
      const c = m.commit;
      return {
        ...head,
        meeting: c.meetingId,
        instance: c.instanceId,
        epoch: c.epoch,
        leader: c.leaderId,
        rosterHash: b64(c.rosterHash),
        reason: c.reason,
        sig: b64(c.signature),
      };
    }
    case 'resend': {
      const r = m.resend;
      return {
        ...head,
        meeting: r.meetingId,
        instance: r.instanceId,
        id: r.participantId,
        have: r.have,
        nonce: b64(r.nonce),
        sig: b64(r.signature),
      };
    }
    case 'admission': {
      const a = m.admission;
      return {
        ...head,
        meeting: a.meetingId,
        instance: a.instanceId,
        epoch: a.epoch,
        rosterHash: b64(a.rosterHash),
        leader: a.leaderId,
        ik: b64(a.leaderKey),
        to: a.to,
        echo: b64(a.echo),
        decision: a.decision,
        sig: b64(a.signature),
      };
    }
    case 'chat': {
      const c = m.chat;
      return {
        ...head,
        meeting: c.meetingId,
        instance: c.instanceId,
        epoch: c.epoch,
        id: c.senderId,
        seq: c.seq,
        box: b64(c.box),
        sig: b64(c.signature),
      };
    }
    case 'link': {
      const l = m.link;
      return {
        ...head,
        meeting: l.meetingId,
        instance: l.instanceId,
        epoch: l.epoch,
        leader: l.leaderId,
        box: b64(l.box),
        sig: b64(l.signature),
      };
    }
    case 'frag': {
      const f = m.fragment;
      return { ...head, msg: f.messageId, i: f.index, n: f.count, data: f.data };
    }
  }
}

/**
 * ASCII JSON: characters above 0x7e as \\u escapes, so a payload's length in
 * characters is its length in bytes (the link envelope and fragments size by it).
 */
export function encodeMessage(m: WireMessage): string {
  return JSON.stringify(toJson(m)).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ------------------------------------------------------------------ decoding

type Json = { [key: string]: unknown };

/** Thrown only inside this module and turned into a Result at decodeMessage. */
class Invalid {
  constructor(
    readonly code: E2eeErrorCode,
    readonly message: string,
  ) {}
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function id(o: Json, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || !ID_PATTERN.test(v)) throw new Invalid('MALFORMED', `field '${k}' must be an ID (1-64 of A-Z a-z 0-9 _ -)`);
  return v;
}

function bytes(o: Json, k: string, length: number): Uint8Array {
  const v = o[k];
  const decoded = typeof v === 'string' && v.length <= Math.ceil((length * 4) / 3) ? fromBase64Url(v) : undefined;
  if (!decoded || decoded.length !== length) throw new Invalid('MALFORMED', `field '${k}' must be ${length} bytes of base64url`);
  return decoded;
}

/** Variable-length bytes: `min..max` long, with `length - min` a multiple of `step`. */
function varBytes(o: Json, k: string, min: number, max: number, step = 1): Uint8Array {
  const v = o[k];
  const decoded = typeof v === 'string' && v.length <= Math.ceil((max * 4) / 3) ? fromBase64Url(v) : undefined;
  if (!decoded || decoded.length < min || decoded.length > max || (decoded.length - min) % step !== 0) {
    throw new Invalid('MALFORMED', `field '${k}' must be ${min}-${max} bytes of base64url`);
  }
  return decoded;
}

function name(o: Json, k: string): string {
  const checked = checkDisplayName(o[k]);
  if (!checked.ok) throw new Invalid('MALFORMED', `field '${k}': ${checked.error.message}`);
  return checked.value;
}

function bool(o: Json, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new Invalid('MALFORMED', `field '${k}' must be true or false`);
  return v;
}

function oneOf<T extends string>(o: Json, k: string, allowed: readonly T[]): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new Invalid('MALFORMED', `field '${k}' must be one of ${allowed.join(', ')}`);
  return v as T;
}

function int(o: Json, k: string, min: number, max: number): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw new Invalid('MALFORMED', `field '${k}' must be an integer in ${min}..${max}`);
  return v;
}

function epoch(o: Json): number {
  return int(o, 'epoch', 1, LIMITS.maxEpoch);
}

function array(o: Json, k: string, max: number, min = 1): unknown[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length < min || v.length > max)
    throw new Invalid('MALFORMED', `field '${k}' must be a list of ${min}-${max} items`);
  return v;
}

function idList(o: Json, k: string, max: number): string[] {
  return array(o, k, max, 0).map((v, i) => {
    if (typeof v !== 'string' || !ID_PATTERN.test(v)) throw new Invalid('MALFORMED', `${k}[${i}] must be an ID`);
    return v;
  });
}

/** An ID list in which no participant appears twice. */
function uniqueIdList(o: Json, k: string, what: string): string[] {
  const ids = idList(o, k, LIMITS.maxMembers);
  unique(ids, what);
  return ids;
}

function object(v: unknown, what: string): Json {
  if (!isObject(v)) throw new Invalid('MALFORMED', `${what} must be an object`);
  return v;
}

function member(o: Json): RosterMember {
  return {
    participantId: id(o, 'id'),
    name: name(o, 'name'),
    identityKey: bytes(o, 'ik', SIZE.identityPublicKey),
    dhKey: bytes(o, 'dh', SIZE.dhPublicKey),
    nonce: bytes(o, 'nonce', SIZE.livenessNonce),
    signature: bytes(o, 'sig', SIZE.signature),
  };
}

function unique(ids: readonly string[], what: string): void {
  if (new Set(ids).size !== ids.length) throw new Invalid('MALFORMED', `${what} lists a participant twice`);
}

function parseBody(o: Json): WireMessage {
  const type = o['t'];
  if (typeof type !== 'string') throw new Invalid('MALFORMED', "field 't' must be a string");
  if (o['v'] !== E2EE_VERSION)
    throw new Invalid('UNSUPPORTED_VERSION', `E2EE version ${String(o['v'])} is not supported (we speak ${E2EE_VERSION})`);
  switch (type) {
    case 'announce':
      return { type, announcement: { meetingId: id(o, 'meeting'), instanceId: id(o, 'instance'), ...member(o) } };
    case 'roster': {
      const members = array(o, 'members', LIMITS.maxMembers).map((m, i) => member(object(m, `members[${i}]`)));
      unique(
        members.map((m) => m.participantId),
        'roster',
      );
      const excluded = uniqueIdList(o, 'excluded', 'excluded list');
      const unacked = uniqueIdList(o, 'unacked', 'unacked list');
      return {
        type,
        roster: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          prevHash: bytes(o, 'prev', SIZE.hash),
          locked: bool(o, 'locked'),
          excluded,
          unacked,
          provisional: bool(o, 'prov'),
          members,
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    }
    case 'delta': {
      const added = array(o, 'added', LIMITS.maxMembers, 0).map((m, i) => member(object(m, `added[${i}]`)));
      const removed = idList(o, 'removed', LIMITS.maxMembers);
      unique([...added.map((m) => m.participantId), ...removed], 'roster delta');
      const excludedAdded = idList(o, 'exAdd', LIMITS.maxMembers);
      const excludedDropped = idList(o, 'exDrop', LIMITS.maxMembers);
      unique([...excludedAdded, ...excludedDropped], 'roster delta exclusions');
      const unacked = uniqueIdList(o, 'unacked', 'unacked list');
      return {
        type,
        delta: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          prevHash: bytes(o, 'prev', SIZE.hash),
          hash: bytes(o, 'hash', SIZE.hash),
          locked: bool(o, 'locked'),
          removed,
          added,
          excludedAdded,
          excludedDropped,
          unacked,
          provisional: bool(o, 'prov'),
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    }
    case 'keys': {
      const entries: KeyEntry[] = array(o, 'entries', LIMITS.maxMembers).map((e, i) => {
        const x = object(e, `entries[${i}]`);
        return {
          to: id(x, 'to'),
          echo: bytes(x, 'echo', SIZE.livenessNonce),
          dh: bytes(x, 'dh', SIZE.dhPublicKey),
          box: bytes(x, 'box', SIZE.keyBox),
        };
      });
      unique(
        entries.map((e) => e.to),
        'key message',
      );
      return {
        type,
        keys: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          leaderId: id(o, 'leader'),
          rosterHash: bytes(o, 'rosterHash', SIZE.hash),
          senderDh: bytes(o, 'sdh', SIZE.dhPublicKey),
          entries,
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    }
    case 'ack':
      return {
        type,
        ack: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          participantId: id(o, 'id'),
          rosterHash: bytes(o, 'rosterHash', SIZE.hash),
          nonce: bytes(o, 'nonce', SIZE.livenessNonce),
          // Optional: without it the leader keeps sealing to the member's last key.
          ...(o['next'] === undefined ? {} : { next: bytes(o, 'next', SIZE.dhPublicKey) }),
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    case 'commit': {
      const reason = o['reason'];
      if (typeof reason !== 'string' || !(COMMIT_REASONS as readonly string[]).includes(reason))
        throw new Invalid('MALFORMED', `field 'reason' must be one of ${COMMIT_REASONS.join(', ')}`);
      return {
        type,
        commit: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          leaderId: id(o, 'leader'),
          rosterHash: bytes(o, 'rosterHash', SIZE.hash),
          reason: reason as CommitReason,
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    }
    case 'resend':
      return {
        type,
        resend: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          participantId: id(o, 'id'),
          have: int(o, 'have', 0, LIMITS.maxEpoch),
          nonce: bytes(o, 'nonce', SIZE.livenessNonce),
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    case 'admission':
      return {
        type,
        admission: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          rosterHash: bytes(o, 'rosterHash', SIZE.hash),
          leaderId: id(o, 'leader'),
          leaderKey: bytes(o, 'ik', SIZE.identityPublicKey),
          to: id(o, 'to'),
          echo: bytes(o, 'echo', SIZE.livenessNonce),
          decision: oneOf<AdmissionDecision>(o, 'decision', ADMISSION_DECISIONS),
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    case 'chat':
      return {
        type,
        chat: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          senderId: id(o, 'id'),
          seq: int(o, 'seq', 1, LIMITS.maxChatSeq),
          // Padded plaintext: whole blocks only, so the size is a bucket.
          box: varBytes(o, 'box', SIZE.chatBoxOverhead + SIZE.chatPadBlock, SIZE.chatBoxOverhead + MAX_CHAT_PADDED, SIZE.chatPadBlock),
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    case 'link':
      return {
        type,
        link: {
          meetingId: id(o, 'meeting'),
          instanceId: id(o, 'instance'),
          epoch: epoch(o),
          leaderId: id(o, 'leader'),
          // nonce24 ‖ secret ‖ tag16
          box: varBytes(o, 'box', 24 + LINK_SECRET_MIN_BYTES + 16, 24 + LINK_SECRET_MAX_BYTES + 16),
          signature: bytes(o, 'sig', SIZE.signature),
        },
      };
    case 'frag': {
      const data = o['data'];
      if (typeof data !== 'string' || data.length === 0 || data.length > LIMITS.maxRelayPayload)
        throw new Invalid('MALFORMED', "field 'data' must be a non-empty string");
      const count = int(o, 'n', 2, LIMITS.maxFragments);
      return { type, fragment: { messageId: id(o, 'msg'), index: int(o, 'i', 0, count - 1), count, data } };
    }
    default:
      throw new Invalid('UNKNOWN_TYPE', `unknown message type '${type.slice(0, 32)}'`);
  }
}

/**
 * Parses one payload. `maxChars` is the relay limit for payloads from the
 * server, or the reassembly limit for a message rebuilt from fragments.
 */
export function decodeMessage(payload: string, maxChars: number = LIMITS.maxRelayPayload): Result<WireMessage> {
  if (payload.length > maxChars) return fail('TOO_LARGE', `payload of ${payload.length} characters exceeds ${maxChars}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return fail('MALFORMED', 'payload is not JSON');
  }
  if (!isObject(parsed)) return fail('MALFORMED', 'payload must be a JSON object');
  try {
    return ok(parseBody(parsed));
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: new E2eeError(e.code, e.message) };
    return fail('INTERNAL', 'unexpected failure while parsing');
  }
}
