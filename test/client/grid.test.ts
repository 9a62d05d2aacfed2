// Who gets a tile and under which name (client/src/e2ee/grid.ts, names.ts):
// the verified roster decides both; the server only says who is connected.

import { describe, expect, it } from 'vitest';
import { gridEntries } from '../../client/src/e2ee/grid.ts';
import { memberName, unverifiedLabel } from '../../client/src/e2ee/names.ts';
import type { RemoteParticipant } from '../../client/src/meeting.ts';
import type { RosterMemberView } from '../../shared/e2ee/index.ts';

const member = (participantId: string, name: string): RosterMemberView => ({
  participantId,
  name,
  identityKey: new Uint8Array(32),
  fingerprint: '12345 67890',
  isLeader: false,
});
const reported = (id: string, present = true): RemoteParticipant => ({
  id,
  present,
  tracks: {},
  failedStreams: {},
  micMuted: false,
  cameraOff: false,
  e2ee: 'ok',
  speaking: false,
});
const byId = (...ps: RemoteParticipant[]): Map<string, RemoteParticipant> => new Map(ps.map((p) => [p.id, p]));

describe('grid', () => {
  it('shows every roster member but ourselves under its signed name, and outsiders unverified', () => {
    const roster = [member('self', 'Me'), member('a', 'Alice'), member('b', 'Bob')];
    const grid = gridEntries(roster, byId(reported('a'), reported('b'), reported('x')), 'self');
    expect(grid.map((e) => [e.participant.id, e.name, e.inKey, e.present])).toEqual([
      ['a', 'Alice', true, true],
      ['b', 'Bob', true, true],
      ['x', unverifiedLabel('x'), false, true],
    ]);
  });

  it('keeps a member the server says left, or never reported, as not present', () => {
    const grid = gridEntries([member('a', 'Alice'), member('b', 'Bob')], byId(reported('a', false)), undefined);
    expect(grid.map((e) => [e.participant.id, e.present])).toEqual([
      ['a', false],
      ['b', false],
    ]);
  });

  it('drops an outsider the server says left', () => {
    expect(gridEntries([], byId(reported('x', false)), undefined)).toEqual([]);
  });

  it('labels carry no server-chosen text', () => {
    expect(unverifiedLabel('Alice')).toMatch(/^Unverified participant #\d{4}$/);
    expect(unverifiedLabel('Alice')).toBe(unverifiedLabel('Alice'));
    expect(memberName({ name: '', fingerprint: '12345 67890' })).toBe('Unnamed member 12345');
  });
});
