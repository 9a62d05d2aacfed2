// Checks a fuzzing connection's replies: every message answered once, each
// as the validator and the connection's history say (allowedReply), never INTERNAL.

import { type ClientMessage, type ErrorCode, type ErrorNotice, type ResponseErr } from '../../../shared/protocol/signaling.ts';
import { ConnState, type Arena, type FuzzConn, type Reply } from './conn.ts';
import { ERROR_CODES } from './util.ts';

// ---------------------------------------------------------------- checking the replies

export interface Audit {
  name: string;
  sent: number;
  processed: number;
  rateLimited: number;
  okResponses: number;
  errorResponses: number;
  errorNotices: number;
  codes: Map<string, number>;
  problems: string[];
}

export type Allowed = { ok: boolean; codes: readonly ErrorCode[] };
export const only = (...codes: ErrorCode[]): Allowed => ({ ok: false, codes });
export const okOr = (...codes: ErrorCode[]): Allowed => ({ ok: true, codes });

/** What the server may answer to a valid request, given what this connection did before. */
export function allowedReply(req: ClientMessage, s: ConnState, arena: Arena): Allowed {
  if (req.type === 'join') return s.joined ? only('ALREADY_JOINED') : okOr('MEETING_FULL', 'CALL_FULL', 'MODE_MISMATCH');
  if (!s.joined) return only('NOT_JOINED');
  const inM = s.meetingId === arena.meetingId;
  switch (req.type) {
    case 'leave':
      return okOr();
    case 'create-transport':
      return okOr('BAD_MESSAGE'); // at most four transports
    case 'restart-ice':
    case 'connect-transport':
      return s.transports.has(req.transportId) ? okOr('MEDIA_ERROR') : only('UNKNOWN_TRANSPORT');
    case 'produce': {
      const dir = s.transports.get(req.transportId);
      if (!dir) return only('UNKNOWN_TRANSPORT');
      if (dir !== 'send' || (req.source === 'mic') !== (req.kind === 'audio')) return only('BAD_MESSAGE');
      return okOr('BAD_MESSAGE', 'MEDIA_ERROR');
    }
    case 'close-producer':
    case 'set-producer-paused':
      // Only your own producers: a member's producer is as unknown as a made-up one.
      return s.producers.has(req.producerId) ? okOr('UNKNOWN_PRODUCER') : only('UNKNOWN_PRODUCER');
    case 'consume': {
      const dir = s.transports.get(req.transportId);
      if (!dir) return only('UNKNOWN_TRANSPORT');
      if (dir !== 'recv') return only('BAD_MESSAGE');
      if (arena.invented.has(req.producerId)) return only('UNKNOWN_PRODUCER');
      if (req.producerId === arena.memberProducer && !inM) return only('UNKNOWN_PRODUCER'); // other meetings' media stay out of reach
      if (s.producers.has(req.producerId)) return only('CANNOT_CONSUME');
      return okOr('UNKNOWN_PRODUCER', 'CANNOT_CONSUME', 'MEDIA_ERROR');
    }
    case 'resume-consumer':
    case 'request-keyframe':
      return s.consumers.has(req.consumerId) ? okOr('UNKNOWN_CONSUMER') : only('UNKNOWN_CONSUMER');
    case 'relay':
      if (req.to === null) return okOr();
      if (arena.invented.has(req.to)) return only('UNKNOWN_PARTICIPANT');
      if (arena.memberIds.includes(req.to)) return inM ? okOr() : only('UNKNOWN_PARTICIPANT');
      return okOr('UNKNOWN_PARTICIPANT');
  }
}

export function audit(f: FuzzConn, arena: Arena): Audit {
  const a: Audit = {
    name: f.name,
    sent: f.sent.length,
    processed: 0,
    rateLimited: 0,
    okResponses: 0,
    errorResponses: 0,
    errorNotices: 0,
    codes: new Map(),
    problems: [],
  };
  const problem = (s: string): void => {
    if (a.problems.length < 15) a.problems.push(`${f.name}: ${s}`);
  };
  const count = (code: string): void => void a.codes.set(code, (a.codes.get(code) ?? 0) + 1);
  const isRateLimited = (r: Reply | undefined): boolean => r?.type === 'error' && r.error.code === 'RATE_LIMITED';
  const wellFormed = (r: Reply): boolean => {
    if (r.type === 'response' && r.ok) return true;
    const e = (r as ResponseErr | ErrorNotice).error;
    return ERROR_CODES.includes(e.code) && typeof e.message === 'string' && e.message.length > 0;
  };

  const state = new ConnState();
  let next = 0; // index into f.immediate
  for (const [i, m] of f.sent.entries()) {
    const label = `message #${i} (${m.intent})`;
    if (m.parsed?.ok) {
      const req = m.parsed.value;
      const r = f.responses.get(req.id);
      if (!r) {
        // Not handled: only acceptable if it was rate-limited, which is answered at once, in order.
        if (isRateLimited(f.immediate[next])) {
          next++;
          a.rateLimited++;
          count('RATE_LIMITED');
        } else problem(`${label}, a valid ${req.type} with id ${req.id}, got no reply`);
        continue;
      }
      a.processed++;
      if (!wellFormed(r)) problem(`${label}: malformed reply ${JSON.stringify(r).slice(0, 200)}`);
      const allowed = allowedReply(req, state, arena);
      if (r.ok) {
        a.okResponses++;
        count('ok');
        if (!allowed.ok) problem(`${label}: ${req.type} succeeded, expected ${allowed.codes.join('|')}`);
        state.apply(req, r.data);
      } else {
        a.errorResponses++;
        count(r.error.code);
        if (!allowed.codes.includes(r.error.code)) {
          problem(
            `${label}: ${req.type} answered ${r.error.code} (${r.error.message}), expected ${allowed.ok ? 'ok|' : ''}${allowed.codes.join('|')}`,
          );
        }
      }
      continue;
    }
    const r = f.immediate[next];
    if (!r) {
      problem(`${label} got no reply`);
      continue;
    }
    next++;
    if (!wellFormed(r)) problem(`${label}: malformed reply ${JSON.stringify(r).slice(0, 200)}`);
    if (isRateLimited(r)) {
      a.rateLimited++;
      count('RATE_LIMITED');
      continue;
    }
    a.processed++;
    if (r.type === 'response') a.errorResponses++;
    else a.errorNotices++;
    if (r.type === 'response' && r.ok) {
      problem(`${label}: an invalid message was accepted`);
      continue;
    }
    count(r.error.code);
    if (m.binary) {
      if (r.type !== 'error' || r.error.code !== 'BAD_MESSAGE') problem(`${label}: binary frame answered ${JSON.stringify(r)}`);
      continue;
    }
    const p = m.parsed;
    if (!p || p.ok) continue;
    if (p.error.id === undefined && r.type !== 'error')
      problem(`${label}: expected an error notice for ${p.error.code}, got a response to id ${r.type === 'response' ? r.id : '?'}`);
    if (p.error.id !== undefined && (r.type !== 'response' || r.id !== p.error.id))
      problem(`${label}: expected a response to id ${p.error.id}, got ${JSON.stringify(r).slice(0, 200)}`);
    if (r.error.code !== p.error.code) problem(`${label}: answered ${r.error.code}, expected ${p.error.code} (${p.error.message})`);
  }
  if (next < f.immediate.length)
    problem(`${f.immediate.length - next} replies nobody asked for, first ${JSON.stringify(f.immediate[next]).slice(0, 200)}`);
  for (const s of f.strays) problem(s);
  if (f.closed) problem(`the server closed the connection: ${f.closed.code} ${f.closed.reason}`);
  return a;
}
