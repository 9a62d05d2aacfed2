// Cameras and microphones to choose from, and whether the one in use is gone
// (unplugged). Pure: the devices panel enumerates and switches.

export interface DeviceChoice {
  deviceId: string;
  label: string;
}

export interface DeviceLists {
  audio: DeviceChoice[];
  video: DeviceChoice[];
}

/** What the app asks for when no camera was chosen. */
export const DEFAULT_VIDEO: MediaTrackConstraints = { width: 640, height: 360, frameRate: 30 };

/** Constraints for one kind of device: a chosen one exactly, or the browser's default. */
export function constraintsFor(kind: 'audio' | 'video', deviceId: string | undefined): MediaStreamConstraints {
  const chosen = deviceId ? { deviceId: { exact: deviceId } } : undefined;
  return kind === 'audio' ? { audio: chosen ?? true } : { video: chosen ? { ...DEFAULT_VIDEO, ...chosen } : DEFAULT_VIDEO };
}

type Enumerated = Pick<MediaDeviceInfo, 'kind' | 'deviceId' | 'label'>;

/** Inputs by kind, named by their label or, before permission is granted, by their position. */
export function deviceLists(devices: readonly Enumerated[]): DeviceLists {
  const pick = (kind: MediaDeviceKind, noun: string): DeviceChoice[] =>
    devices
      .filter((d) => d.kind === kind && d.deviceId !== '')
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${noun} ${i + 1}` }));
  return { audio: pick('audioinput', 'Microphone'), video: pick('videoinput', 'Camera') };
}

/** The device in use is no longer listed: it was unplugged (or access to it was withdrawn). */
export function deviceLost(inUse: string | undefined, list: readonly DeviceChoice[]): boolean {
  return inUse !== undefined && inUse !== '' && !list.some((d) => d.deviceId === inUse);
}
