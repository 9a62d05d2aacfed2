// The agent's chat: sends our messages under the epoch we send with, opens
// others' under the epoch they name, and keeps the sequence numbers (ours, and
// the highest accepted per sender, so a replay is refused and a skipped number
// shows that the server dropped messages). The crypto and the checks are in
// chat.ts; this keeps the state and emits `chat` and `chat-gap` events.

import { checkChatText, createChat, openChat, type ChatMessage } from './chat.ts';
import { LIMITS } from './constants.ts';
import type { Emitter } from './emitter.ts';
import { fail, ok, type E2eeErrorCode, type Result } from './errors.ts';
import type { Epochs } from './epochs.ts';
import type { AgentEvents } from './events.ts';
import type { IdentityKeyPair } from './identity.ts';
import type { RandomBytes } from './primitives.ts';
import { rosterIndexOf } from './roster.ts';
import type { WireMessage } from './wire.ts';

export interface ChatChannelOptions {
  meetingId: string;
  instanceId: string;
  selfId: string;
  identity: IdentityKeyPair;
  random: RandomBytes;
  now: () => number;
  epochs: Epochs;
  events: Emitter<AgentEvents>;
  send: (to: string | null, m: WireMessage) => void;
  reject: (code: E2eeErrorCode, message: string, from?: string) => void;
}

export class ChatChannel {
  private seq = 0;
  private readonly seen = new Map<string, number>();

  constructor(private readonly o: ChatChannelOptions) {}

  /** Encrypts and broadcasts under the epoch we send with; NO_KEY unless `keyed` (chat is never sent in the clear). */
  send(text: string, keyed: boolean): Result<{ epoch: number; seq: number }> {
    const checked = checkChatText(text);
    if (!checked.ok) return checked;
    const { epochs, selfId } = this.o;
    const epoch = epochs.sendEpoch;
    const installed = epochs.installed(epoch);
    const roster = epochs.roster(epoch);
    const self = roster?.roster.members[rosterIndexOf(roster.roster, selfId)];
    if (!keyed || !installed || !self) return fail('NO_KEY', 'no epoch key to encrypt chat with');
    if (this.seq >= LIMITS.maxChatSeq) return fail('INVALID_ARGUMENT', 'chat sequence numbers exhausted');
    const seq = ++this.seq;
    const { meetingId, instanceId, identity, random } = this.o;
    const chat = createChat({ meetingId, instanceId, epoch, senderId: selfId, seq, text, chatKey: installed.chatKey, identity, random });
    this.o.send(null, { type: 'chat', chat });
    const fp = epochs.fingerprintOf(self.identityKey, self.participantId);
    this.o.events.emit('chat', { from: selfId, name: self.name, fingerprint: fp, text, epoch, seq, at: this.o.now(), own: true });
    return ok({ epoch, seq });
  }

  receive(from: string, c: ChatMessage): void {
    const head = this.o.epochs.head;
    if (!head) return; // not keyed yet: chat is broadcast, and earlier epochs are unreadable to us by design
    const lastSeq = this.seen.get(from) ?? 0;
    const opened = openChat(c, {
      meetingId: this.o.meetingId,
      instanceId: this.o.instanceId,
      from,
      roster: this.o.epochs.roster(c.epoch),
      chatKey: this.o.epochs.installed(c.epoch)?.chatKey,
      current: head.roster,
      lastSeq,
    });
    if (!opened.ok) return this.o.reject(opened.error.code, opened.error.message, from);
    this.seen.set(from, c.seq);
    const at = this.o.now();
    const missed = missedBefore(lastSeq, c.seq);
    if (missed > 0) this.o.events.emit('chat-gap', { from, count: missed, epoch: c.epoch, seq: c.seq, at });
    const sender = opened.value.sender;
    const fingerprint = this.o.epochs.fingerprintOf(sender.identityKey, sender.participantId);
    const { text } = opened.value;
    this.o.events.emit('chat', { from, name: sender.name, fingerprint, text, epoch: c.epoch, seq: c.seq, at, own: false });
  }
}

/**
 * Messages a sender numbered between the last one we accepted from it and this
 * one. A sender's counter runs across epochs (chat.ts), so a gap spanning an
 * epoch change counts too. Nothing before the first message we accept (0: no
 * baseline): it may have chatted before we joined. The numbers are signed, so
 * the server can hide messages but not fake a gap.
 */
export function missedBefore(lastSeq: number, seq: number): number {
  return lastSeq > 0 && seq > lastSeq + 1 ? seq - lastSeq - 1 : 0;
}
