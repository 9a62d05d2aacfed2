// Camera and microphone pickers during the call. A choice switches the
// device in place (Meeting.switchDevice: replaceTrack, E2EE untouched); a
// device that disappears (unplugged) falls back to the default, and the user
// is told.

import type { Meeting } from '../meeting.ts';
import { deviceLists, deviceLost, type DeviceChoice } from '../media/devices.ts';
import { h } from './dom.ts';

const NOUN = { audio: 'microphone', video: 'camera' } as const;

export function createDevicesPanel(meeting: Meeting): HTMLElement {
  const selects = {
    audio: h('select', { 'data-testid': 'mic-select', id: 'mic-select' }),
    video: h('select', { 'data-testid': 'camera-select', id: 'camera-select' }),
  };
  const panel = h(
    'aside',
    { class: 'panel devices', 'data-testid': 'devices-panel', 'aria-label': 'Camera and microphone' },
    h('h2', {}, 'Camera and microphone'),
    h('label', { for: 'camera-select' }, 'Camera'),
    selects.video,
    h('label', { for: 'mic-select' }, 'Microphone'),
    selects.audio,
    h('p', { class: 'hint' }, 'Switching keeps your media end-to-end encrypted: the new device is sent under the same key.'),
  );
  panel.dataset['title'] = 'Devices';
  panel.dataset['testid'] = 'devices';
  panel.hidden = true;

  const inUse = (kind: 'audio' | 'video'): string | undefined => meeting.localTrack(kind)?.getSettings().deviceId;

  const fill = (kind: 'audio' | 'video', list: DeviceChoice[]): void => {
    const current = inUse(kind);
    selects[kind].replaceChildren(
      ...list.map((d) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label)),
      ...(list.length === 0 ? [h('option', { value: '' }, `No ${NOUN[kind]} found`)] : []),
    );
    selects[kind].disabled = list.length === 0;
  };

  const switchTo = async (kind: 'audio' | 'video', deviceId: string | undefined): Promise<boolean> => {
    try {
      await meeting.switchDevice(kind, deviceId);
      return true;
    } catch (e) {
      const why = e instanceof DOMException ? e.name : e instanceof Error ? e.message : String(e);
      meeting.alert('error', `Could not switch the ${NOUN[kind]} (${why}); still using the previous one.`);
      return false;
    }
  };

  /** Lists the devices; one in use that is gone is replaced by the default, and the user is told. */
  const refresh = async (): Promise<void> => {
    const lists = deviceLists(await navigator.mediaDevices.enumerateDevices());
    for (const kind of ['audio', 'video'] as const) {
      const track = meeting.localTrack(kind);
      if (track && deviceLost(inUse(kind), lists[kind])) {
        const lostLabel = track.label || `the ${NOUN[kind]}`;
        if (await switchTo(kind, undefined)) meeting.alert('warn', `${lostLabel} was disconnected: switched to the default ${NOUN[kind]}.`);
      }
      fill(kind, lists[kind]);
    }
  };

  for (const kind of ['audio', 'video'] as const)
    selects[kind].addEventListener('change', () => {
      void switchTo(kind, selects[kind].value || undefined).then(() => refresh());
    });
  navigator.mediaDevices.addEventListener('devicechange', () => void refresh());
  void refresh();
  // Labels and the device in use are known once media is granted and published.
  meeting.onJoined(() => setTimeout(() => void refresh(), 0));
  return panel;
}
