// The security code binds the roster and the epoch key: whoever holds the same
// epoch with the same roster sees the same code, and a leader that splits keys
// or views between members cannot keep their codes equal (issue #12, finding 9).

import { E2EE_VERSION } from '../../shared/e2ee/constants.ts';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCommit } from '../../shared/e2ee/commit.ts';
import { transcript } from '../../shared/e2ee/encoding.ts';
import { initCrypto, MeetingKeyAgent, type RosterEvent } from '../../shared/e2ee/index.ts';
import { createKeysMessage } from '../../shared/e2ee/key-message.ts';
import { EpochKeyRing } from '../../shared/e2ee/key-ring.ts';
import { systemRandom } from '../../shared/e2ee/primitives.ts';
import { createRoster, GENESIS_HASH, memberFromAnnouncement, type VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { securityCode } from '../../shared/e2ee/security-code.ts';
import { encodeMessage, type WireMessage } from '../../shared/e2ee/wire.ts';
import { generateIdentity } from '../../shared/e2ee/identity.ts';
import { CTX, participant, rosterOf, testLink } from './fixtures.ts';

beforeAll(initCrypto);

/** The code a member shows once it installed `epochKey` for `roster` (the agent's path: key ring, then securityCode). */
function codeOf(roster: VerifiedRoster, epochKey: Uint8Array, memberId = roster.roster.members[0]?.participantId ?? ''): string {
  return securityCode(roster.hash, new EpochKeyRing(memberId).install(roster, epochKey.slice()).authenticator);
}

describe('security code derivation', () => {
  const members = () => [participant('alice'), participant('bob'), participant('carol')];

  it('is the same for every member given the same roster and key', () => {
    const roster = rosterOf(members(), 4);
    const key = systemRandom(32);
    expect(codeOf(roster, key, 'bob')).toBe(codeOf(roster, key, 'carol'));
    expect(codeOf(roster, key, 'alice')).toMatch(/^\d{5}( \d{5}){5}$/);
  });

  it('changes when the key changes and the roster does not', () => {
    const roster = rosterOf(members(), 4);
    expect(codeOf(roster, systemRandom(32), 'bob')).not.toBe(codeOf(roster, systemRandom(32), 'bob'));
  });

  it('changes with any roster field the leader signs, such as the lock, under the same key', () => {
    const key = systemRandom(32);
    const ps = members();
    const open = rosterOf(ps, 4);
    expect(codeOf(rosterOf(ps, 4, undefined, undefined, { locked: true }), key)).not.toBe(codeOf(open, key));
    expect(codeOf(rosterOf(ps, 4, undefined, undefined, { excluded: ['mallory'] }), key)).not.toBe(codeOf(open, key));
    expect(codeOf(rosterOf(ps, 5), key)).not.toBe(codeOf(open, key));
  });

  it('takes the authenticator from HKDF-SHA256 of the epoch key with the documented labels (same as WebCrypto)', async () => {
    const roster = rosterOf(members(), 9);
    const key = systemRandom(32);
    const subtle = globalThis.crypto.subtle;
    const ikm = await subtle.importKey('raw', new Uint8Array(key), 'HKDF', false, ['deriveBits']);
    const labels = [CTX.meetingId, CTX.instanceId, { u64: 9 }] as const;
    const salt = new Uint8Array(transcript('e2ee-meet/v1/sframe-epoch', { u32: E2EE_VERSION }, ...labels));
    const info = new Uint8Array(transcript('e2ee-meet/v1/epoch-authenticator', { u32: E2EE_VERSION }, ...labels, roster.hash));
    const authenticator = new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, ikm, 256));
    expect(new EpochKeyRing('bob').install(roster, key.slice()).authenticator).toEqual(authenticator);
    expect(codeOf(roster, key)).toBe(securityCode(roster.hash, authenticator));
  });
});

describe('security code against a malicious leader (agents built by hand)', () => {
  const agents: MeetingKeyAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.stop();
  });

  /**
   * Alice leads epoch 1 of a meeting with the real agents of Bob and Carol, and
   * sends each of them the roster, key and commit she chooses for them. Returns
   * the code each agent shows.
   */
  async function codesShown(views: { bob: { key: Uint8Array; locked?: boolean }; carol: { key: Uint8Array; locked?: boolean } }) {
    const alice = participant('alice');
    const shown = new Map<string, RosterEvent>();
    const make = (id: string, name: string): MeetingKeyAgent => {
      const agent = new MeetingKeyAgent({
        ...CTX,
        selfId: id,
        identity: generateIdentity(),
        link: testLink(),
        displayName: name,
        send: () => {},
      });
      agent.on('roster', (e) => shown.set(id, e));
      agent.start(['alice']);
      agents.push(agent);
      return agent;
    };
    const bob = make('bob', 'Bob');
    const carol = make('carol', 'Carol');
    const members = [alice.announcement, bob.ownAnnouncement, carol.ownAnnouncement].map(memberFromAnnouncement);
    const recipients = [bob, carol].map(({ ownAnnouncement: a }) => ({ participantId: a.participantId, dhKey: a.dhKey, echo: a.nonce }));
    for (const [agent, view] of [
      [bob, views.bob],
      [carol, views.carol],
    ] as const) {
      const roster = createRoster({ ...CTX, epoch: 1, prevHash: GENESIS_HASH, members, locked: view.locked ?? false }, alice.identity);
      const { identity } = alice;
      const keys = createKeysMessage({ roster, epochKey: view.key, recipients, identity, random: systemRandom });
      const commit = createCommit({ ...CTX, epoch: 1, leaderId: 'alice', rosterHash: roster.hash, reason: 'all-acked' }, alice.identity);
      const messages: WireMessage[] = [
        { type: 'roster', roster: roster.roster },
        { type: 'keys', keys },
        { type: 'commit', commit },
      ];
      for (const m of messages) agent.onRelay('alice', testLink().seal('alice', encodeMessage(m)));
      await agent.idle();
      expect(agent.status).toBe('ok');
    }
    return { bob: shown.get('bob')?.securityCode, carol: shown.get('carol')?.securityCode };
  }

  it('shows members given different epoch keys for the same roster different codes', async () => {
    const { bob, carol } = await codesShown({ bob: { key: systemRandom(32) }, carol: { key: systemRandom(32) } });
    expect(bob).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(carol).not.toBe(bob);
  });

  it('shows members given different lock states under the same key different codes', async () => {
    const key = systemRandom(32);
    const { bob, carol } = await codesShown({ bob: { key, locked: true }, carol: { key, locked: false } });
    expect(carol).not.toBe(bob);
  });

  it('shows members given the same roster and key the same code', async () => {
    const key = systemRandom(32);
    const { bob, carol } = await codesShown({ bob: { key }, carol: { key } });
    expect(bob).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(carol).toBe(bob);
  });
});
