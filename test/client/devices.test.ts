// Device lists and unplug detection for the in-call pickers (client/src/media/devices.ts).

import { describe, expect, it } from 'vitest';
import { constraintsFor, DEFAULT_VIDEO, deviceLists, deviceLost } from '../../client/src/media/devices.ts';

const dev = (kind: MediaDeviceKind, deviceId: string, label = '') => ({ kind, deviceId, label });

describe('device pickers', () => {
  it('lists inputs by kind, naming unlabelled ones by position and skipping outputs and blank ids', () => {
    const lists = deviceLists([
      dev('audioinput', 'm1', 'Headset'),
      dev('audioinput', 'm2'),
      dev('videoinput', 'c1', 'USB camera'),
      dev('videoinput', ''),
      dev('audiooutput', 'o1', 'Speakers'),
    ]);
    expect(lists.audio).toEqual([
      { deviceId: 'm1', label: 'Headset' },
      { deviceId: 'm2', label: 'Microphone 2' },
    ]);
    expect(lists.video).toEqual([{ deviceId: 'c1', label: 'USB camera' }]);
  });

  it('notices that the device in use is gone, and only then', () => {
    const list = [{ deviceId: 'c1', label: 'cam' }];
    expect(deviceLost('c2', list)).toBe(true);
    expect(deviceLost('c1', list)).toBe(false);
    expect(deviceLost(undefined, list)).toBe(false);
    expect(deviceLost('c1', [])).toBe(true);
  });

  it('asks for a chosen device exactly, or for the default', () => {
    expect(constraintsFor('audio', undefined)).toEqual({ audio: true });
    expect(constraintsFor('audio', 'm1')).toEqual({ audio: { deviceId: { exact: 'm1' } } });
    expect(constraintsFor('video', undefined)).toEqual({ video: DEFAULT_VIDEO });
    expect(constraintsFor('video', 'c1')).toEqual({ video: { ...DEFAULT_VIDEO, deviceId: { exact: 'c1' } } });
  });
});
