// Generates the fuzz messages: random and mutated messages of every type, a
// sweep of every field with every wrong value, odd strings, binary frames.

import { LIMITS, PROTOCOL_VERSION, type JsonObject } from '../../../shared/protocol/signaling.ts';
import type { Arena, FuzzConn, Outgoing } from './conn.ts';
import { ID_ALPHABET, dtls, opusRtp, vp8Rtp } from './util.ts';
import { Rng } from '../rng.ts';

// ---------------------------------------------------------------- generating messages

export const MESSAGE_TYPES = [
  'join',
  'create-transport',
  'connect-transport',
  'produce',
  'close-producer',
  'set-producer-paused',
  'consume',
  'resume-consumer',
  'request-keyframe',
  'relay',
  'leave',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Values of every JSON type, for fields that want another. */
export const WRONG_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  3.5,
  1e308,
  -1e308,
  '',
  ' ',
  'x',
  '0',
  '1',
  'true',
  'null',
  'undefined',
  [],
  [1, 'a'],
  {},
  { a: { b: [] } },
  '\u0000',
  'join',
  '00000000-0000-0000-0000-000000000000',
  Number.MAX_SAFE_INTEGER,
];

export const WEIRD_STRINGS: readonly string[] = [
  '\ud800',
  'a\udc00b',
  '\ud83d\ude00'.repeat(30),
  '\ufffd\ufffe\uffff',
  '\u202eevil\u202c',
  'a\u2028b\u2029c',
  '\u0000',
  'tab\there',
  'é'.repeat(64),
  'e\u0301'.repeat(40),
  '\u200b',
  '  padded  ',
  '\u{10ffff}',
  '<script>alert(1)</script>',
  '${7*7}',
  '%s%n%x',
  '../../etc/passwd',
  'null',
  '__proto__',
  'constructor',
];

export class Generator {
  constructor(
    private readonly rng: Rng,
    private readonly conn: FuzzConn,
    private readonly arena: Arena,
  ) {}

  private inventUuid(): string {
    const u = this.rng.uuid();
    this.arena.invented.add(u);
    return u;
  }

  private inventParticipant(): string {
    const p = this.rng.string(this.rng.int(1, 16), ID_ALPHABET);
    this.arena.invented.add(p);
    return p;
  }

  private transportId(direction?: 'send' | 'recv'): string {
    const own = [...this.conn.live.transports].filter(([, d]) => !direction || d === direction).map(([id]) => id);
    const r = this.rng.next();
    if (own.length > 0 && r < 0.55) return this.rng.pick(own);
    if (r < 0.7) return this.rng.pick(this.arena.memberTransports);
    return this.inventUuid();
  }

  private producerId(): string {
    const r = this.rng.next();
    if (r < 0.3) return this.arena.memberProducer;
    if (r < 0.55 && this.arena.producers.size > 0) return this.rng.pick([...this.arena.producers]);
    if (r < 0.7 && this.conn.live.producers.size > 0) return this.rng.pick([...this.conn.live.producers]);
    return this.inventUuid();
  }

  private consumerId(): string {
    if (this.conn.live.consumers.size > 0 && this.rng.chance(0.6)) return this.rng.pick([...this.conn.live.consumers]);
    return this.inventUuid();
  }

  private participant(): string | null {
    const r = this.rng.next();
    if (r < 0.25) return null;
    if (r < 0.5) return this.rng.pick(this.arena.memberIds);
    if (r < 0.65 && this.conn.peers.size > 0) return this.rng.pick([...this.conn.peers]);
    if (r < 0.7 && this.conn.live.participantId) return this.conn.live.participantId;
    return this.inventParticipant();
  }

  private meeting(): string {
    const r = this.rng.next();
    if (r < 0.35) return this.arena.meetingId;
    if (r < 0.75) return this.rng.pick(this.arena.fuzzMeetings);
    return `fz-${this.rng.string(this.rng.int(1, 20), ID_ALPHABET)}`;
  }

  /** A well-formed body of `type`, aimed at this connection's own or others' ids. */
  body(type: MessageType = this.rng.pick(MESSAGE_TYPES)): JsonObject {
    const rng = this.rng;
    switch (type) {
      case 'join':
        return {
          type,
          v: PROTOCOL_VERSION,
          meetingId: this.meeting(),
          name: rng.chance(0.8) ? `fuzz ${rng.string(rng.int(1, 12), ID_ALPHABET)}` : rng.pick(WEIRD_STRINGS),
          ...(rng.chance(0.8) ? { mode: rng.chance(0.9) ? 'meeting' : 'call' } : {}),
        };
      case 'create-transport':
        return { type, direction: rng.pick(['send', 'recv']) };
      case 'connect-transport':
        return { type, transportId: this.transportId(), dtlsParameters: rng.chance(0.7) ? dtls(rng) : { role: 42 } };
      case 'produce': {
        const kind = rng.pick(['audio', 'video'] as const);
        const source = kind === 'audio' ? (rng.chance(0.9) ? 'mic' : 'camera') : rng.pick(['camera', 'screen', 'mic']);
        const ssrc = rng.int(1, 2 ** 31);
        return {
          type,
          transportId: this.transportId('send'),
          kind,
          source,
          rtpParameters: kind === 'audio' ? opusRtp(ssrc) : vp8Rtp(ssrc),
        };
      }
      case 'close-producer':
        return { type, producerId: this.producerId() };
      case 'set-producer-paused':
        return { type, producerId: this.producerId(), paused: rng.chance(0.5) };
      case 'consume':
        return {
          type,
          transportId: this.transportId('recv'),
          producerId: this.producerId(),
          rtpCapabilities: this.conn.live.routerCaps && rng.chance(0.7) ? this.conn.live.routerCaps : { codecs: [] },
        };
      case 'resume-consumer':
      case 'request-keyframe':
        return { type, consumerId: this.consumerId() };
      case 'relay':
        return {
          type,
          to: this.participant(),
          payload: rng.chance(0.9) ? rng.string(rng.int(1, 200), ID_ALPHABET + ' {}[]":,') : rng.pick(WEIRD_STRINGS) || 'x',
        };
      case 'leave':
        return { type };
    }
  }

  private id(): number {
    return this.conn.nextId++;
  }

  private message(body: JsonObject): string {
    return JSON.stringify({ id: this.id(), ...body });
  }

  /** The next message(s) this connection sends. */
  next(): Outgoing[] {
    const kind = this.rng.weighted({
      valid: 12,
      mutated: 28,
      'wrong-type-sweep': 14,
      'unknown-ids': 12,
      'bad-json': 10,
      'non-object': 3,
      huge: 2,
      'deep-nesting': 1,
      unicode: 4,
      'prototype-keys': 5,
      'out-of-order': 4,
      binary: 3,
    });
    switch (kind) {
      case 'valid':
        return [{ intent: kind, text: this.message(this.body()) }];
      case 'mutated':
        return [this.mutated()];
      case 'wrong-type-sweep':
        return [this.sweep()];
      case 'unknown-ids':
        return [this.unknownIds()];
      case 'bad-json':
        return [{ intent: kind, text: this.badJson() }];
      case 'non-object':
        return [
          {
            intent: kind,
            text: this.rng.pick([
              '[]',
              '[{"id":1,"type":"leave"}]',
              '42',
              '-0',
              '"join"',
              'null',
              'true',
              '1e999',
              '"' + 'x'.repeat(1000) + '"',
            ]),
          },
        ];
      case 'huge':
        return [this.huge()];
      case 'deep-nesting':
        return [this.deep()];
      case 'unicode':
        return [this.unicode()];
      case 'prototype-keys':
        return [this.prototypeKeys()];
      case 'out-of-order':
        return this.outOfOrder();
      case 'binary':
        return [this.binary()];
    }
  }

  /** A valid message changed in one to three ways. */
  private mutated(): Outgoing {
    const rng = this.rng;
    const msg: Record<string, unknown> = { id: this.id(), ...this.body() };
    let idText: string | undefined;
    const steps: string[] = [];
    for (let n = rng.int(1, 3); n > 0; n--) {
      const keys = Object.keys(msg);
      if (keys.length === 0) break;
      const field = rng.pick(keys);
      const op = rng.pick([
        'drop',
        'wrong-type',
        'as-string',
        'in-array',
        'null',
        'swap-type',
        'type-case',
        'extra-field',
        'id-form',
        'nested-field',
      ] as const);
      steps.push(op);
      switch (op) {
        case 'drop':
          delete msg[field];
          break;
        case 'wrong-type':
          msg[field] = rng.pick(WRONG_VALUES);
          break;
        case 'as-string':
          msg[field] = typeof msg[field] === 'object' ? JSON.stringify(msg[field]) : String(msg[field]);
          break;
        case 'in-array':
          msg[field] = [msg[field]];
          break;
        case 'null':
          msg[field] = null;
          break;
        case 'swap-type':
          msg['type'] = rng.pick(MESSAGE_TYPES);
          break;
        case 'type-case':
          msg['type'] = rng.pick([
            String(msg['type']).toUpperCase(),
            ` ${String(msg['type'])}`,
            `${String(msg['type'])}\u0000`,
            'Join',
            'relay ',
            'RELAY',
            '',
          ]);
          break;
        case 'extra-field':
          msg[rng.pick(['extra', 'from', 'participantId', 'ok', 'data', 'error', 'v', 'mode', 'to'])] = rng.pick(WRONG_VALUES);
          break;
        case 'id-form':
          // Other spellings of a fresh id (attributable), or ids the server cannot use.
          idText = rng.pick([
            `${this.conn.nextId}.0`,
            `${this.conn.nextId}e0`,
            `${this.conn.nextId * 10}e-1`,
            '"7"',
            '-1',
            '1.5',
            'null',
            '[3]',
            '{}',
            'true',
            '1e400',
            '9007199254740993',
            '-0',
          ]);
          this.conn.nextId++;
          break;
        case 'nested-field': {
          const objField = keys.find((k) => typeof msg[k] === 'object' && msg[k] !== null);
          if (objField)
            msg[objField] = {
              ...(msg[objField] as object),
              [rng.pick(['codecs', 'encodings', 'fingerprints', 'role', 'mid'])]: rng.pick(WRONG_VALUES),
            };
          break;
        }
      }
    }
    let text = JSON.stringify(msg);
    if (idText !== undefined) text = text.replace(/"id":[^,}]*/, `"id":${idText}`);
    if (idText !== undefined && !text.includes('"id"')) text = `{"id":${idText},${text.slice(1)}`;
    return { intent: `mutated:${steps.join('+')}`, text };
  }

  /** Every field of every message type, in turn, given each value of the wrong type. */
  private sweep(): Outgoing {
    const s = this.arena.sweep[this.arena.sweepAt++ % this.arena.sweep.length]!;
    const msg: Record<string, unknown> = { id: this.id(), ...this.body(s.type as MessageType) };
    msg[s.field] = s.value;
    return { intent: `wrong-type:${s.type}.${s.field}`, text: JSON.stringify(msg) };
  }

  /** Well-formed ids that name nothing: random UUIDs and participant ids. */
  private unknownIds(): Outgoing {
    const type = this.rng.pick([
      'connect-transport',
      'produce',
      'close-producer',
      'set-producer-paused',
      'consume',
      'resume-consumer',
      'request-keyframe',
      'relay',
    ] as const);
    const b = this.body(type);
    for (const k of ['transportId', 'producerId', 'consumerId']) if (k in b) b[k] = this.inventUuid();
    if (type === 'relay') b['to'] = this.inventParticipant();
    return { intent: `unknown-ids:${type}`, text: this.message(b) };
  }

  private badJson(): string {
    const rng = this.rng;
    const valid = this.message(this.body());
    switch (rng.int(0, 11)) {
      case 0:
        return valid.slice(0, rng.int(0, valid.length - 1)); // truncated
      case 1:
        return valid + rng.pick(['}', ']', ',', 'x', ' {}', '\u0000']); // trailing garbage
      case 2:
        return valid + valid; // two messages in one frame
      case 3:
        return valid.replace(/"/g, "'");
      case 4:
        return valid.replace(/,/, ',,');
      case 5:
        return valid.replace(/:/, ': undefined, "x":');
      case 6:
        return `\ufeff${valid}`; // a byte-order mark
      case 7:
        return rng.pick([
          '',
          ' ',
          '\n',
          '{',
          '}',
          '{"id":',
          'NaN',
          'Infinity',
          '{"id":NaN}',
          '{id:1,type:"leave"}',
          '/* c */{}',
          '{"a":1,}',
          "{'id':1}",
        ]);
      case 8:
        return rng.string(rng.int(1, 300), '{}[]",:0123456789abcdefnulltrue\\ \n\t');
      case 9: {
        const depth = rng.int(1_000, 60_000); // unbalanced deep nesting
        return '['.repeat(depth) + ']'.repeat(depth - 1);
      }
      case 10:
        return valid.replace(/"([a-z]+)":/, '"$1\\u00":'); // a broken escape
      default:
        return String.fromCharCode(...Array.from(rng.bytes(rng.int(1, 200))));
    }
  }

  /** Fields just over and far over their limits, and a message just under the size limit. */
  private huge(): Outgoing {
    const rng = this.rng;
    const big = (n: number): string => 'a'.repeat(n);
    const pick = rng.int(0, 10);
    const b =
      pick === 0
        ? { ...this.body('join'), name: big(rng.pick([LIMITS.maxNameLength + 1, LIMITS.maxNameLength * 4 + 1, 20_000])) }
        : pick === 1
          ? { ...this.body('join'), meetingId: big(rng.pick([65, 5_000])) }
          : pick === 2
            ? { ...this.body('resume-consumer'), consumerId: big(rng.pick([37, 100_000])) }
            : pick === 3
              ? { ...this.body('relay'), payload: big(LIMITS.maxRelayPayload) } // exactly at the limit: valid
              : pick === 4
                ? { ...this.body('relay'), payload: big(LIMITS.maxRelayPayload + 1) }
                : pick === 5
                  ? { ...this.body('relay'), payload: big(LIMITS.maxRelayPayload * 3) }
                  : pick === 6
                    ? { ...this.body('relay'), to: big(65) }
                    : pick === 7
                      ? { ...this.body('leave'), padding: big(LIMITS.maxMessageBytes - 200) } // just under the message limit
                      : pick === 8
                        ? {
                            ...this.body('connect-transport'),
                            dtlsParameters: Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, big(20)])),
                          }
                        : pick === 9
                          ? { ...this.body('join'), name: ' '.repeat(LIMITS.maxNameLength * 4) + 'x' }
                          : {
                              ...this.body('produce'),
                              rtpParameters: { ...vp8Rtp(1), encodings: Array.from({ length: 2_000 }, (_, i) => ({ ssrc: i + 1 })) },
                            };
    return { intent: `huge:${pick}`, text: this.message(b) };
  }

  /** Deep nesting inside fields the server hands to mediasoup, and as the whole message. */
  private deep(): Outgoing {
    const depth = this.rng.int(500, 40_000);
    const nested = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const field = this.rng.pick(['dtlsParameters', 'rtpParameters', 'rtpCapabilities', 'payload', 'whole'] as const);
    if (field === 'whole') return { intent: 'deep:array', text: '['.repeat(depth) + ']'.repeat(depth) };
    const type =
      field === 'dtlsParameters'
        ? 'connect-transport'
        : field === 'rtpParameters'
          ? 'produce'
          : field === 'rtpCapabilities'
            ? 'consume'
            : 'relay';
    const text = JSON.stringify({ id: this.id(), ...this.body(type), [field]: '@@DEEP@@' }).replace('"@@DEEP@@"', nested);
    return { intent: `deep:${field}`, text };
  }

  /** Lone surrogates, escapes of them, control and bidi characters in string fields. */
  private unicode(): Outgoing {
    const rng = this.rng;
    const type = rng.pick(['join', 'relay', 'create-transport'] as const);
    const b = this.body(type);
    const field = type === 'join' ? rng.pick(['name', 'meetingId']) : type === 'relay' ? rng.pick(['payload', 'to']) : 'direction';
    b[field] = rng.pick(WEIRD_STRINGS) + (rng.chance(0.5) ? rng.pick(WEIRD_STRINGS) : '');
    let text = this.message(b);
    // An escaped lone surrogate survives UTF-8 and reaches the server as one.
    if (rng.chance(0.3)) text = text.replace(/"(name|payload|meetingId|to)":"/, '"$1":"\\udfff\\ud800');
    return { intent: `unicode:${type}.${field}`, text };
  }

  /** Keys that pollute prototypes when an object is merged carelessly. */
  private prototypeKeys(): Outgoing {
    const rng = this.rng;
    const key = rng.pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']);
    const value = rng.pick(['{"polluted":"yes","type":"join","isAdmin":true}', '{"prototype":{"polluted":"yes"}}', 'null', '"x"', '1']);
    const text = this.message(this.body());
    const where = rng.int(0, 2);
    let out: string;
    if (where === 0) out = `{"${key}":${value},${text.slice(1)}`;
    else if (where === 1)
      out = text.replace(/":\{/, `":{"${key}":${value},`); // inside a nested object, if there is one
    else out = `${text.slice(0, -1)},"${key}":${value}}`;
    return { intent: `prototype:${key}`, text: out };
  }

  /** Requests in an order no client would use. */
  private outOfOrder(): Outgoing[] {
    const rng = this.rng;
    const m = (type: MessageType): Outgoing => ({ intent: `order:${type}`, text: this.message(this.body(type)) });
    switch (rng.int(0, 4)) {
      case 0:
        return [m('consume'), m('produce'), m('connect-transport'), m('relay'), m('leave'), m('join')];
      case 1:
        return [m('join'), m('join'), m('relay'), m('leave'), m('relay'), m('leave')];
      case 2:
        return [m('leave'), m('create-transport'), m('resume-consumer'), m('join'), m('create-transport'), m('create-transport')];
      case 3:
        return [
          m('join'),
          m('create-transport'),
          m('create-transport'),
          m('create-transport'),
          m('create-transport'),
          m('create-transport'),
          m('leave'),
        ];
      default:
        return [m('relay'), m('join'), m('consume'), m('close-producer'), m('set-producer-paused'), m('leave'), m('leave')];
    }
  }

  private binary(): Outgoing {
    const bytes = this.rng.chance(0.5) ? this.rng.bytes(this.rng.int(0, 2_000)) : Buffer.from(this.message(this.body('relay')));
    return { intent: 'binary', binary: bytes };
  }
}

/** Every (type, field) of every message, each with every wrong value: walked in turn by all fuzzers. */
export function sweepTable(): Arena['sweep'] {
  const fields: Record<MessageType, string[]> = {
    join: ['id', 'type', 'v', 'meetingId', 'name', 'mode'],
    'create-transport': ['id', 'type', 'direction'],
    'connect-transport': ['id', 'type', 'transportId', 'dtlsParameters'],
    produce: ['id', 'type', 'transportId', 'kind', 'source', 'rtpParameters'],
    'close-producer': ['id', 'type', 'producerId'],
    'set-producer-paused': ['id', 'type', 'producerId', 'paused'],
    consume: ['id', 'type', 'transportId', 'producerId', 'rtpCapabilities'],
    'resume-consumer': ['id', 'type', 'consumerId'],
    'request-keyframe': ['id', 'type', 'consumerId'],
    relay: ['id', 'type', 'to', 'payload'],
    leave: ['id', 'type'],
  };
  const out: Arena['sweep'] = [];
  for (const type of MESSAGE_TYPES) for (const field of fields[type]) for (const value of WRONG_VALUES) out.push({ type, field, value });
  return out;
}
