// shared/bytes.ts: the one concatenation, constant-time equality and hex that
// the SFrame and key-agreement modules share.

import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, constantTimeEqual, hexToBytes } from '../../shared/bytes.ts';

describe('shared byte helpers', () => {
  it('concatenates into a new array, also for zero or one part', () => {
    const a = Uint8Array.of(1, 2);
    expect(concatBytes(a, Uint8Array.of(), Uint8Array.of(3))).toEqual(Uint8Array.of(1, 2, 3));
    expect(concatBytes()).toEqual(new Uint8Array(0));
    const copy = concatBytes(a);
    copy[0] = 9;
    expect(a[0]).toBe(1);
  });

  it('compares by length and content', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1), Uint8Array.of(1, 0))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('writes lowercase hex and reads either case back', () => {
    expect(bytesToHex(Uint8Array.of(0, 0x0f, 0xab, 0xff))).toBe('000fabff');
    expect(hexToBytes('000FabfF')).toEqual(Uint8Array.of(0, 0x0f, 0xab, 0xff));
    expect(hexToBytes('')).toEqual(new Uint8Array(0));
  });

  it('reads anything but even-length hex as undefined, never throwing', () => {
    for (const bad of ['0', 'abc', 'zz', '0x00', ' 00', '00 ', '+1', '-1', 'é0']) expect(hexToBytes(bad), bad).toBeUndefined();
  });
});
