// Which tiles the stage shows (client/src/ui/layout.ts) and who counts as
// the active speaker (client/src/media/speaker.ts).

import { describe, expect, it } from 'vitest';
import { arrange, autoPerPage } from '../../client/src/ui/layout.ts';
import { HOLD_MS, levelBetween, SpeakerDetector } from '../../client/src/media/speaker.ts';

const keys = ['a', 'b', 'c', 'd', 'e'];

describe('tile layout', () => {
  it('shows everyone in a grid that fits, with the self view counted', () => {
    expect(arrange({ keys, mode: 'grid', page: 0, perPage: 9 })).toEqual({ featured: undefined, shown: keys, page: 0, pages: 1 });
  });

  it('splits a meeting larger than one screen into pages, the self view on each', () => {
    const first = arrange({ keys, mode: 'grid', page: 0, perPage: 4 });
    expect(first).toEqual({ featured: undefined, shown: ['a', 'b', 'c'], page: 0, pages: 2 });
    expect(arrange({ keys, mode: 'grid', page: 1, perPage: 4 }).shown).toEqual(['d', 'e']);
    // A page past the end (someone left) shows the last page.
    expect(arrange({ keys, mode: 'grid', page: 7, perPage: 4 })).toMatchObject({ page: 1, shown: ['d', 'e'] });
  });

  it('features a pinned tile in either mode and pages the others beside it', () => {
    const l = arrange({ keys, mode: 'grid', pinned: 'c', page: 0, perPage: 4 });
    expect(l.featured).toBe('c');
    expect(l.shown).toEqual(['a', 'b']);
    expect(l.pages).toBe(2);
    expect(arrange({ keys, mode: 'speaker', pinned: 'c', speaker: 'e', page: 0, perPage: 9 }).featured).toBe('c');
  });

  it('features the speaker in speaker mode, the first tile before anyone spoke, and forgets a pin that left', () => {
    expect(arrange({ keys, mode: 'speaker', speaker: 'd', page: 0, perPage: 9 }).featured).toBe('d');
    expect(arrange({ keys, mode: 'speaker', page: 0, perPage: 9 }).featured).toBe('a');
    expect(arrange({ keys, mode: 'grid', pinned: 'gone', page: 0, perPage: 9 }).featured).toBeUndefined();
  });

  it('fits fewer tiles per screen on a phone than on a desktop', () => {
    expect(autoPerPage(390, 844)).toBeLessThan(autoPerPage(1280, 720));
    expect(autoPerPage(1280, 720)).toBeLessThan(autoPerPage(1920, 1080));
  });
});

describe('active speaker', () => {
  it('picks the loudest participant above the speaking level', () => {
    const d = new SpeakerDetector();
    expect(d.step([{ participantId: 'a', level: 0.01 }], 0)).toBeUndefined();
    expect(
      d.step(
        [
          { participantId: 'a', level: 0.2 },
          { participantId: 'b', level: 0.4 },
        ],
        100,
      ),
    ).toBe('b');
  });

  it('keeps a speaker who is still talking unless someone is much louder, and drops one silent too long', () => {
    const d = new SpeakerDetector();
    d.step([{ participantId: 'a', level: 0.3 }], 0);
    expect(
      d.step(
        [
          { participantId: 'a', level: 0.3 },
          { participantId: 'b', level: 0.4 },
        ],
        500,
      ),
    ).toBe('a');
    expect(d.step([{ participantId: 'a', level: 0 }], 500 + HOLD_MS)).toBe('a');
    expect(d.step([{ participantId: 'a', level: 0 }], 501 + HOLD_MS)).toBeUndefined();
  });

  it('forgets a speaker who is no longer received', () => {
    const d = new SpeakerDetector();
    d.step([{ participantId: 'a', level: 0.3 }], 0);
    expect(d.step([{ participantId: 'b', level: 0 }], 100)).toBeUndefined();
  });
});

describe('audio level over an interval', () => {
  it('is the root of the mean energy, so a short sound between samples counts', () => {
    // A 0.4-level beep of 0.1 s in a 0.5 s interval: energy 0.16 * 0.1.
    expect(levelBetween({ energy: 1, duration: 10 }, { energy: 1.016, duration: 10.5 })).toBeCloseTo(Math.sqrt(0.032), 9);
    expect(levelBetween(undefined, { energy: 1, duration: 10 })).toBe(0);
    expect(levelBetween({ energy: 1, duration: 10 }, { energy: 1, duration: 10 })).toBe(0);
  });
});
