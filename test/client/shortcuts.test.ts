// Which action a key press asks for in the meeting (client/src/ui/shortcuts.ts).

import { describe, expect, it } from 'vitest';
import { shortcutFor, type KeyPress } from '../../client/src/ui/shortcuts.ts';

const press = (key: string, mods: Partial<KeyPress> = {}): string | undefined =>
  shortcutFor({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, typing: false, ...mods })?.action;

describe('meeting keyboard shortcuts', () => {
  it('maps M, V, S, C, H to mute, camera, share, chat and hand, in either case', () => {
    expect(['m', 'v', 's', 'c', 'h'].map((k) => press(k))).toEqual(['mute', 'camera', 'share', 'chat', 'hand']);
    expect(press('M', { shiftKey: false })).toBe('mute');
  });

  it('leaves only with Shift+L, so a stray key does not end the call', () => {
    expect(press('l')).toBeUndefined();
    expect(press('L', { shiftKey: true })).toBe('leave');
  });

  it('opens help with ?, however the layout produces it', () => {
    expect(press('?', { shiftKey: true })).toBe('help');
    expect(press('?')).toBe('help');
  });

  it('ignores keys while typing and browser or system combinations', () => {
    expect(press('m', { typing: true })).toBeUndefined();
    expect(press('c', { ctrlKey: true })).toBeUndefined();
    expect(press('v', { metaKey: true })).toBeUndefined();
    expect(press('s', { altKey: true })).toBeUndefined();
    expect(press('m', { shiftKey: true })).toBeUndefined();
    expect(press('x')).toBeUndefined();
  });
});
