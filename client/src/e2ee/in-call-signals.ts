// Raise hand and reactions travel exactly like chat: encrypted under the
// epoch's chat key, signed by the sender, numbered (shared/e2ee/chat.ts), so
// the server sees one more opaque chat blob and nothing of what it says.
// This is only their encoding inside a chat text, and its validation.

export const REACTIONS = {
  'thumbs-up': '👍',
  clap: '👏',
  laugh: '😂',
  heart: '❤️',
  surprised: '😮',
} as const;

export type ReactionName = keyof typeof REACTIONS;

export type InCallSignal = { type: 'hand'; raised: boolean } | { type: 'reaction'; reaction: ReactionName };

export type ChatContent =
  { kind: 'text'; text: string } | { kind: 'signal'; signal: InCallSignal } | { kind: 'bad-signal'; reason: string };

/** An invisible separator no one types, then a tag: marks a chat text as a signal. */
const MARK = '\u2063bm-signal:';

export function encodeSignal(s: InCallSignal): string {
  return MARK + JSON.stringify(s);
}

function isReaction(v: unknown): v is ReactionName {
  return typeof v === 'string' && Object.hasOwn(REACTIONS, v);
}

/** What a verified chat text carries: a message to show, a signal, or a malformed signal (dropped). */
export function parseChatText(text: string): ChatContent {
  if (!text.startsWith(MARK)) return { kind: 'text', text };
  let v: unknown;
  try {
    v = JSON.parse(text.slice(MARK.length));
  } catch {
    return { kind: 'bad-signal', reason: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null) return { kind: 'bad-signal', reason: 'not an object' };
  const o = v as Record<string, unknown>;
  if (o['type'] === 'hand' && typeof o['raised'] === 'boolean') return { kind: 'signal', signal: { type: 'hand', raised: o['raised'] } };
  if (o['type'] === 'reaction' && isReaction(o['reaction']))
    return { kind: 'signal', signal: { type: 'reaction', reaction: o['reaction'] } };
  return { kind: 'bad-signal', reason: `unknown signal ${JSON.stringify(o['type'])}` };
}
