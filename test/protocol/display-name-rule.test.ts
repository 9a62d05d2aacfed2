import { describe, expect, it } from 'vitest';
import { cleanDisplayName, displayNameProblem, MAX_DISPLAY_NAME } from '../../shared/display-name.ts';
import { checkDisplayName } from '../../shared/e2ee/display-name.ts';
const RLO = '\u202E';

describe('one display-name rule for the signed name and the pre-join page (the server never sees names)', () => {
  it('refuses a bidi override in the signed name and on the pre-join page alike', () => {
    expect(displayNameProblem(`Al${RLO}ice`)).toMatch(/bidi/);
    expect(checkDisplayName(`Al${RLO}ice`)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('counts code points, not UTF-16 units, on both sides', () => {
    const emoji = '😀'.repeat(MAX_DISPLAY_NAME);
    expect(displayNameProblem(emoji)).toBeUndefined();
    expect(checkDisplayName(emoji).ok).toBe(true);
    expect(displayNameProblem(emoji + '😀')).toBeDefined();
    expect(checkDisplayName(emoji + '😀').ok).toBe(false);
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
