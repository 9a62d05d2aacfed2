// The agent's chat: sends our messages under the epoch we send with, opens
// others' under the epoch they name, and keeps the sequence numbers (ours, and
// the highest accepted per sender, so a replay is refused). The crypto and the
// checks are in chat.ts; this keeps the state and emits `chat` events.

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
    const opened = openChat(c, {
      meetingId: this.o.meetingId,
      instanceId: this.o.instanceId,
      from,
      roster: this.o.epochs.roster(c.epoch),
      chatKey: this.o.epochs.installed(c.epoch)?.chatKey,
      current: head.roster,
      lastSeq: this.seen.get(from) ?? 0,
    });
    if (!opened.ok) return this.o.reject(opened.error.code, opened.error.message, from);
    this.seen.set(from, c.seq);
    const sender = opened.value.sender;
    const fingerprint = this.o.epochs.fingerprintOf(sender.identityKey, sender.participantId);
    const { text } = opened.value;
    this.o.events.emit('chat', { from, name: sender.name, fingerprint, text, epoch: c.epoch, seq: c.seq, at: this.o.now(), own: false });
  }
}
