// Test-only adversarial server behaviour: `--test-mode --attack NAME` turns
// the server into the adversary of docs/threat-model.md, so browser tests can
// check that clients refuse what it forges and show it. One module per attack;
// this file is the registry and wires an attack into the server's hooks.
// The production server (server/) imports none of this: server.ts here starts
// it with the attack's hooks.
//
// config.ts refuses --attack without --test-mode; startAdversaryServer checks again.

import type { ServerHooks } from '../../server/app.ts';
import type { RoomObserver } from '../../server/room.ts';
import type { OutgoingInterceptor, RelayInterceptor } from '../../server/connection.ts';
import { asInsider } from './insider.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { AttackStats, type Attack, type AttackContext, type AttackFactory } from './common.ts';
import { dropRotationAttack } from './drop-rotation.ts';
import { fakeLeaderAttack } from './fake-leader.ts';
import { ghostAttack } from './ghost.ts';
import { impersonateLeaderAttack } from './impersonate-leader.ts';
import { injectPlaintextAttack } from './inject-plaintext.ts';
import { nameSwapAttack } from './name-swap.ts';
import { relabelKindAttack, relabelSenderAttack, relabelSourceAttack } from './relabel.ts';
import { replayAttack } from './replay.ts';
import { swapAttack } from './swap.ts';
import { swapResignAttack } from './swap-resign.ts';
import { tamperAttack } from './tamper.ts';

export { AttackStats } from './common.ts';

const ATTACKS: Record<string, { factory: AttackFactory; summary: string }> = {
  ghost: {
    factory: ghostAttack,
    summary: 'adds participants that no client runs: a fake participant-joined plus forged and self-signed announcements',
  },
  swap: { factory: swapAttack, summary: "replaces the second joiner's identity and X25519 keys in its announcement in transit" },
  'swap-resign': {
    factory: swapResignAttack,
    summary: "like swap, but re-signs the second joiner's announcement with the server's own identity key, then plays that participant",
  },
  replay: { factory: replayAttack, summary: "after each rotation, re-delivers the previous epoch's roster, key message, commit and acks" },
  tamper: {
    factory: tamperAttack,
    summary: 'delivers a copy with a flipped byte ahead of every announcement, roster, key message, ack and commit',
  },
  'drop-rotation': { factory: dropRotationAttack, summary: 'withholds every key message after its first one from the second joiner' },
  'inject-plaintext': {
    factory: injectPlaintextAttack,
    summary: "announces a server-made video producer as the first joiner's screen share, sending plaintext VP8 and forged SFrame frames",
  },
  'name-swap': {
    factory: nameSwapAttack,
    summary:
      "swaps the first two joiners' names in join results and notices, announces a made-up participant, " +
      'and tells the third joiner the second left (it did not)',
  },
  'fake-leader': {
    factory: fakeLeaderAttack,
    summary:
      "lists a made-up participant first in every newcomer's join result, withholds the real leader's messages from it, " +
      'and sends it a roster signed by the server as that made-up leader',
  },
  'relabel-source': {
    factory: relabelSourceAttack,
    summary: "announces the first joiner's camera as its screen share and its screen share as its camera (metadata only)",
  },
  'relabel-sender': {
    factory: relabelSenderAttack,
    summary: "tells everyone but the first two joiners that each one's microphone and camera are the other's (metadata only)",
  },
  'relabel-kind': {
    factory: relabelKindAttack,
    summary: "announces the first joiner's microphone as video (its screen share) and its screen share as audio (metadata only)",
  },
  'impersonate-leader': {
    factory: impersonateLeaderAttack,
    summary:
      "lists a non-leader first in join results, relabels the leader's messages as a non-leader, forges commits and rosters from a non-leader",
  },
};

export const ATTACK_NAMES: readonly string[] = Object.keys(ATTACKS);

export function describeAttacks(): string {
  return ATTACK_NAMES.map((n) => `  ${n}: ${ATTACKS[n]!.summary}`).join('\n');
}

/** A running attack: its hooks and the evidence tests read. */
export interface InstalledAttack {
  name: string;
  stats: AttackStats;
  relayInterceptor?: RelayInterceptor;
  outgoingInterceptor?: OutgoingInterceptor;
  roomObserver?: RoomObserver;
  close(): void;
}

/** Builds the named attack; an unknown name is an error that lists the valid ones. */
export async function installAttack(name: string, ctx: AttackContext): Promise<InstalledAttack> {
  const entry = Object.hasOwn(ATTACKS, name) ? ATTACKS[name] : undefined;
  if (!entry) {
    throw new Error(`unknown attack '${name}'; valid attacks are: ${ATTACK_NAMES.join(', ')}\n${describeAttacks()}`);
  }
  const stats = new AttackStats(name, ctx.log);
  const built: Attack = await entry.factory(ctx, stats);
  // The insider opens and seals with libsodium, which the server itself never loads.
  if (ctx.insider) await initCrypto();
  const attack = ctx.insider ? asInsider(built, ctx.insider) : built;
  return {
    name,
    stats,
    relayInterceptor: attack.relayInterceptor,
    outgoingInterceptor: attack.outgoingInterceptor,
    roomObserver: attack.roomObserver,
    close: () => attack.close?.(),
  };
}

/** The server's hooks with the attack's added (room observers both run). */
export function withAttack(hooks: ServerHooks, attack: InstalledAttack): ServerHooks {
  if ((hooks.relayInterceptor && attack.relayInterceptor) || (hooks.outgoingInterceptor && attack.outgoingInterceptor)) {
    throw new Error(`attack '${attack.name}' cannot run together with another interceptor`);
  }
  const a = hooks.roomObserver;
  const b = attack.roomObserver;
  const roomObserver: RoomObserver | undefined =
    a && b
      ? {
          producerCreated: (...args) => {
            a.producerCreated?.(...args);
            b.producerCreated?.(...args);
          },
          roomClosed: (room) => {
            a.roomClosed?.(room);
            b.roomClosed?.(room);
          },
        }
      : (a ?? b);
  return {
    ...hooks,
    roomObserver,
    relayInterceptor: hooks.relayInterceptor ?? attack.relayInterceptor,
    outgoingInterceptor: hooks.outgoingInterceptor ?? attack.outgoingInterceptor,
  };
}
