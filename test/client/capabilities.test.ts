import { describe, expect, it } from 'vitest';
import { CAPABILITY_TEXT, missingCapabilities, type Capability, type CapabilityProbe } from '../../client/src/capabilities.ts';
import { mediaWaitReason } from '../../client/src/ui/browser-screens.ts';

const all = (over: Partial<Record<Capability, boolean>> = {}): CapabilityProbe =>
  ({ ...Object.fromEntries(Object.keys(CAPABILITY_TEXT).map((c) => [c, true])), ...over }) as CapabilityProbe;

describe('browser capabilities', () => {
  it('a browser with every capability can join', () => {
    expect(missingCapabilities(all())).toEqual([]);
  });

  it('names each missing capability, in a fixed order', () => {
    expect(missingCapabilities(all({ 'encoded-transform': false }))).toEqual(['encoded-transform']);
    expect(missingCapabilities(all({ 'encoded-transform': false, 'secure-context': false, webcrypto: false }))).toEqual([
      'secure-context',
      'webcrypto',
      'encoded-transform',
    ]);
  });

  it('a page waiting for the camera asks for a click unless it is visible and focused', () => {
    expect(mediaWaitReason({ visible: true, focused: true })).toBe('permission');
    expect(mediaWaitReason({ visible: true, focused: false })).toBe('focus');
    expect(mediaWaitReason({ visible: false, focused: false })).toBe('focus');
  });
});
