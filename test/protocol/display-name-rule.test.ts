import { describe, expect, it } from 'vitest';
import { cleanDisplayName, displayNameProblem, MAX_DISPLAY_NAME } from '../../shared/display-name.ts';
import { checkDisplayName } from '../../shared/e2ee/display-name.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/signaling.ts';
import { parseClientMessage } from '../../shared/protocol/validate.ts';

const join = (name: string) => parseClientMessage(JSON.stringify({ id: 1, type: 'join', v: PROTOCOL_VERSION, meetingId: 'm', name }));
const RLO = '\u202E';

describe('one display-name rule for the signed name, the server and the pre-join page', () => {
  it('refuses a bidi override in the signed name and at the server alike', () => {
    expect(displayNameProblem(`Al${RLO}ice`)).toMatch(/bidi/);
    expect(checkDisplayName(`Al${RLO}ice`)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(join(`Al${RLO}ice`)).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
  });

  it('counts code points, not UTF-16 units, on both sides', () => {
    const emoji = '😀'.repeat(MAX_DISPLAY_NAME);
    expect(displayNameProblem(emoji)).toBeUndefined();
    expect(join(emoji).ok).toBe(true);
    expect(join(emoji + '😀').ok).toBe(false);
  });

  it('cleans what a person typed into a name every checker accepts', () => {
    for (const typed of [`  Bob${RLO} `, 'a\u0000b\nc', '\u2066x\u2069', ' '.repeat(3) + 'é'.repeat(80), `${RLO}`]) {
      const name = cleanDisplayName(typed);
      expect(displayNameProblem(name)).toBeUndefined();
      expect(checkDisplayName(name).ok).toBe(true);
    }
    expect(cleanDisplayName(`  Bob${RLO} `)).toBe('Bob');
    expect(cleanDisplayName(RLO)).toBe('');
  });
});
