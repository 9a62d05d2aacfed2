// tamper: flips a byte in key-exchange messages in transit. Every
// announcement, roster, key message, ack and commit is delivered twice to each
// recipient: first a copy with one byte flipped, then the original. A client
// must reject every tampered copy (each field is covered by a signature) and
// the rejection must leave no trace in its state, so the original that follows
// is still accepted and the meeting keeps working.
//
// Which byte is flipped, by message type:
//   announce  its X25519 key (`dh`)
//   roster    the X25519 key of its last (newest) member
//   keys      every entry's encrypted epoch key (`box`)
//   ack       its liveness nonce
//   commit    its signature

import { clone, peek, recipients, typeOf, type AttackFactory, type Delivery, type Json } from './common.ts';

const TAMPERED = ['announce', 'roster', 'keys', 'ack', 'commit'] as const;
type Tampered = (typeof TAMPERED)[number];

function isTampered(t: string | undefined): t is Tampered {
  return (TAMPERED as readonly string[]).includes(t ?? '');
}

/** A copy of `msg` with one byte flipped, or undefined if its shape is unexpected. */
function tamper(msg: Json, t: Tampered): Json | undefined {
  const copy = clone(msg);
  const flip = (o: unknown, field: string): boolean => {
    if (typeof o !== 'object' || o === null) return false;
    const v = (o as Json)[field];
    if (typeof v !== 'string' || v.length === 0) return false;
    const bytes = Buffer.from(v, 'base64url');
    if (bytes.length === 0) return false;
    const i = bytes.length >> 1;
    bytes[i] = bytes[i]! ^ 0x01;
    (o as Json)[field] = bytes.toString('base64url');
    return true;
  };
  switch (t) {
    case 'announce':
      return flip(copy, 'dh') ? copy : undefined;
    case 'roster': {
      const members = copy['members'];
      return Array.isArray(members) && flip(members[members.length - 1], 'dh') ? copy : undefined;
    }
    case 'keys': {
      const entries = copy['entries'];
      if (!Array.isArray(entries) || entries.length === 0) return undefined;
      return entries.every((e) => flip(e, 'box')) ? copy : undefined;
    }
    case 'ack':
      return flip(copy, 'nonce') ? copy : undefined;
    case 'commit':
      return flip(copy, 'sig') ? copy : undefined;
  }
}

export const tamperAttack: AttackFactory = (_ctx, stats) => ({
  stats,
  relayInterceptor: {
    relay(room, from, to, payload) {
      const msg = peek(payload);
      const t = typeOf(msg);
      if (!msg || !isTampered(t)) {
        stats.bump('untouched');
        return [{ to, payload }];
      }
      const bad = tamper(msg, t);
      if (!bad) {
        stats.bump('untouched');
        return [{ to, payload }];
      }
      const badPayload = JSON.stringify(bad);
      const out: Delivery[] = [];
      for (const id of recipients(room, from, to)) {
        out.push({ to: id, payload: badPayload }, { to: id, payload });
        stats.bump('tampered');
        stats.bump(`tampered-${t}`);
        stats.to(id, t);
      }
      return out;
    },
  },
});
