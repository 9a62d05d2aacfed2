// Splitting messages larger than one relay payload (a 250-member roster is
// ~60 KB) into fragments, and putting them back together on arrival. Memory
// is bounded: one message in progress per sender, a total character budget,
// and a timeout.

import { decodeMessage, encodeMessage, type Fragment, type WireMessage } from './wire.ts';
import { LIMITS, TIMING } from './constants.ts';
import { fail, ok, type Result } from './errors.ts';

/** Room for the fragment's own JSON fields. */
const FRAGMENT_OVERHEAD = 160;

/** The payloads to send for `payload`: itself if it fits, else its fragments. */
export function splitPayload(payload: string, maxChars: number, messageId: string): string[] {
  if (payload.length <= maxChars) return [payload];
  const budget = maxChars - FRAGMENT_OVERHEAD;
  if (budget < 64) throw new RangeError('relay payload limit too small to fragment');
  const chunks: string[] = [];
  for (let at = 0; at < payload.length;) {
    // JSON escaping can grow a chunk; shrink until its encoding fits.
    let end = Math.min(payload.length, at + budget);
    while (JSON.stringify(payload.slice(at, end)).length > budget) end = at + Math.floor((end - at) * 0.9);
    chunks.push(payload.slice(at, end));
    at = end;
  }
  if (chunks.length > LIMITS.maxFragments) throw new RangeError(`message needs ${chunks.length} fragments, over ${LIMITS.maxFragments}`);
  return chunks.map((data, index) => encodeMessage({ type: 'frag', fragment: { messageId, index, count: chunks.length, data } }));
}

interface Partial {
  messageId: string;
  count: number;
  parts: (string | undefined)[];
  received: number;
  chars: number;
  startedAt: number;
}

export interface ReassemblerOptions {
  now: () => number;
  maxMessageChars?: number;
  /** Total characters buffered across all senders. */
  maxBufferedChars?: number;
  timeoutMs?: number;
}

export class Reassembler {
  private readonly partial = new Map<string, Partial>();
  private readonly maxMessageChars: number;
  private readonly maxBufferedChars: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ReassemblerOptions) {
    this.maxMessageChars = opts.maxMessageChars ?? LIMITS.maxMessageChars;
    this.maxBufferedChars = opts.maxBufferedChars ?? 2 * this.maxMessageChars;
    this.timeoutMs = opts.timeoutMs ?? TIMING.fragmentTimeoutMs;
  }

  /** Adds a fragment from `from`; yields the whole payload once complete, else null. */
  add(from: string, f: Fragment): Result<string | null> {
    this.expire();
    let p = this.partial.get(from);
    // A new message from the same sender abandons the unfinished one: relays are ordered.
    if (!p || p.messageId !== f.messageId) {
      p = {
        messageId: f.messageId,
        count: f.count,
        parts: new Array<string | undefined>(f.count).fill(undefined),
        received: 0,
        chars: 0,
        startedAt: this.opts.now(),
      };
      this.partial.set(from, p);
    }
    if (f.count !== p.count) return this.reject(from, `fragment count changed from ${p.count} to ${f.count}`);
    if (p.parts[f.index] !== undefined) return this.reject(from, `fragment ${f.index} arrived twice`);
    p.parts[f.index] = f.data;
    p.received += 1;
    p.chars += f.data.length;
    if (p.chars > this.maxMessageChars) {
      this.partial.delete(from);
      return fail('TOO_LARGE', `fragmented message from '${from}' exceeds ${this.maxMessageChars} characters`);
    }
    this.enforceBudget(from);
    if (p.received < p.count) return ok(null);
    this.partial.delete(from);
    return ok(p.parts.join(''));
  }

  clear(): void {
    this.partial.clear();
  }

  private reject(from: string, message: string): Result<string | null> {
    this.partial.delete(from);
    return fail('FRAGMENT_INVALID', message);
  }

  private expire(): void {
    const now = this.opts.now();
    for (const [from, p] of this.partial) if (now - p.startedAt > this.timeoutMs) this.partial.delete(from);
  }

  /** Drops the oldest unfinished messages (never the current one) when over budget. */
  private enforceBudget(current: string): void {
    let total = 0;
    for (const p of this.partial.values()) total += p.chars;
    const oldestFirst = [...this.partial.entries()].sort((a, b) => a[1].startedAt - b[1].startedAt);
    for (const [from, p] of oldestFirst) {
      if (total <= this.maxBufferedChars) break;
      if (from === current) continue;
      this.partial.delete(from);
      total -= p.chars;
    }
  }
}

/** A relayed payload as one whole message: null while its other fragments are still missing. */
export function readRelay(reassembler: Reassembler, from: string, payload: string): Result<Exclude<WireMessage, { type: 'frag' }> | null> {
  const decoded = decodeMessage(payload, LIMITS.maxRelayPayload);
  if (!decoded.ok) return decoded;
  if (decoded.value.type !== 'frag') return ok(decoded.value);
  const whole = reassembler.add(from, decoded.value.fragment);
  if (!whole.ok) return whole;
  if (whole.value === null) return ok(null);
  const inner = decodeMessage(whole.value, LIMITS.maxMessageChars);
  if (!inner.ok) return inner;
  if (inner.value.type === 'frag') return fail('MALFORMED', 'fragment inside a fragment');
  return ok(inner.value);
}
