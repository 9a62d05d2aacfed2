// The pre-join screen: name, meeting (a new one with its own link secret, or
// a pasted whole link), camera and microphone preview with device pickers.

import type { MeetingMode } from '../../../shared/protocol/signaling.ts';
import { ID_PATTERN } from '../../../shared/protocol/validate.ts';
import { LINK_SECRET_PATTERN } from '../../../shared/e2ee/link.ts';
import { cleanDisplayName } from '../../../shared/display-name.ts';
import { h } from './dom.ts';

export interface PrejoinChoice {
  meetingId: string;
  name: string;
  mode: MeetingMode;
  /** The link's secret (base64url), as in `#s=`. */
  secret: string;
  /** One-meeting identity instead of the profile's stored one. */
  guest?: boolean;
}

export interface PrejoinOptions {
  meetingId: string;
  name: string;
  mode: MeetingMode;
  invalidMeeting: boolean;
  newMeetingId: () => string;
  /** A fresh link secret (base64url). */
  newSecret: () => string;
  /** The secret of the link this page was opened with, if it had a valid one. */
  secret: string | undefined;
  /** The whole link for a meeting. */
  linkTo: (meetingId: string, mode: MeetingMode, secret: string) => string;
  getMedia: (c: { audioDeviceId?: string; videoDeviceId?: string }) => Promise<{ stream: MediaStream; warning?: string }>;
  onJoin: (choice: PrejoinChoice, stream: MediaStream) => void;
  /** Extra content (e.g. the identity fingerprint). */
  extra?: HTMLElement;
}

export class PrejoinView {
  readonly root: HTMLElement;
  private stream?: MediaStream;
  private readonly preview: HTMLVideoElement;
  private readonly camSelect: HTMLSelectElement;
  private readonly micSelect: HTMLSelectElement;
  private readonly msg: HTMLElement;

  constructor(private readonly o: PrejoinOptions) {
    const nameIn = h('input', {
      id: 'name',
      'data-testid': 'name-input',
      autocomplete: 'nickname',
      maxlength: 64,
      required: true,
      value: o.name,
    });
    const idIn = h('input', {
      id: 'meeting',
      'data-testid': 'meeting-input',
      maxlength: 2048,
      value: o.meetingId,
      spellcheck: 'false',
      placeholder: 'Paste a meeting link, or press New meeting',
    });
    const copyBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'copy-link' }, 'Copy link');
    const link = h('output', { class: 'link', 'data-testid': 'meeting-link' });
    const callBox = h('input', { type: 'checkbox', id: 'mode-call', 'data-testid': 'call-mode' });
    callBox.checked = o.mode === 'call';
    this.preview = h('video', { class: 'preview', autoplay: true, playsinline: true, 'aria-label': 'Camera preview' });
    this.preview.muted = true;
    this.camSelect = h('select', { id: 'camera', 'aria-label': 'Camera' });
    this.micSelect = h('select', { id: 'mic', 'aria-label': 'Microphone' });
    this.msg = h('p', { class: 'form-msg', role: 'alert' });
    if (o.invalidMeeting) this.msg.textContent = 'That meeting link is not valid: meeting IDs use letters, digits, - and _.';

    let secret = o.secret;
    const updateLink = (): void => {
      const id = idIn.value.trim();
      link.textContent = ID_PATTERN.test(id) && secret ? o.linkTo(id, callBox.checked ? 'call' : 'meeting', secret) : '';
      copyBtn.disabled = link.textContent === '';
    };
    idIn.addEventListener('input', () => {
      // A pasted whole link fills in its meeting ID and secret.
      const pasted = parsePastedLink(idIn.value.trim());
      if (pasted) {
        idIn.value = pasted.meetingId;
        secret = pasted.secret;
        if (pasted.call) callBox.checked = true;
      }
      updateLink();
    });
    callBox.addEventListener('change', updateLink);
    updateLink();

    const newBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'new-meeting' }, 'New meeting');
    newBtn.addEventListener('click', () => {
      idIn.value = o.newMeetingId();
      secret = o.newSecret();
      updateLink();
    });
    copyBtn.addEventListener('click', () => {
      void navigator.clipboard?.writeText(link.textContent ?? '').then(
        () => (copyBtn.textContent = 'Copied'),
        () => (copyBtn.textContent = 'Copy failed'),
      );
    });
    const joinBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'join' }, 'Join meeting');
    const form = h(
      'form',
      { class: 'prejoin-form', novalidate: true },
      h('h1', {}, 'Join an end-to-end encrypted meeting'),
      h(
        'p',
        { class: 'lede' },
        'Audio, video and chat are encrypted in your browser. The server relays them without being able to read them.',
      ),
      h('label', { for: 'name' }, 'Your name'),
      nameIn,
      h('label', { for: 'meeting' }, 'Meeting'),
      h('div', { class: 'row' }, idIn, newBtn),
      h('div', { class: 'row small' }, link, copyBtn),
      h('label', { class: 'check' }, callBox, ' One-on-one call (exactly two people)'),
      h('div', { class: 'row' }, h('label', { for: 'camera' }, 'Camera'), this.camSelect),
      h('div', { class: 'row' }, h('label', { for: 'mic' }, 'Microphone'), this.micSelect),
      o.extra ?? null,
      this.msg,
      joinBtn,
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = cleanDisplayName(nameIn.value);
      const meetingId = idIn.value.trim();
      if (!name) return this.fail('Please enter your name.', nameIn);
      if (!ID_PATTERN.test(meetingId))
        return this.fail('Meeting IDs are 1–64 letters, digits, - or _. Use “New meeting” for a fresh one.', idIn);
      if (!secret) {
        return this.fail(
          'To join a meeting, paste its whole link (it ends with “#s=” and a secret). To start one, press “New meeting”.',
          idIn,
        );
      }
      this.o.onJoin({ meetingId, name, mode: callBox.checked ? 'call' : 'meeting', secret }, this.stream ?? new MediaStream());
    });
    this.camSelect.addEventListener('change', () => void this.openMedia());
    this.micSelect.addEventListener('change', () => void this.openMedia());
    this.root = h('div', { class: 'prejoin', 'data-testid': 'prejoin' }, h('div', { class: 'preview-box' }, this.preview), form);
    void this.openMedia().then(() => this.listDevices());
  }

  private fail(text: string, field: HTMLElement): void {
    this.msg.textContent = text;
    field.focus();
  }

  private async openMedia(): Promise<void> {
    this.stream?.getTracks().forEach((t) => t.stop());
    const { stream, warning } = await this.o.getMedia({
      videoDeviceId: this.camSelect.value || undefined,
      audioDeviceId: this.micSelect.value || undefined,
    });
    this.stream = stream;
    this.preview.srcObject = stream;
    if (warning) this.msg.textContent = warning;
  }

  private async listDevices(): Promise<void> {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (sel: HTMLSelectElement, kind: MediaDeviceKind, current?: string): void => {
      sel.replaceChildren(
        ...devices
          .filter((d) => d.kind === kind)
          .map((d, i) => {
            const opt = h('option', { value: d.deviceId }, d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`);
            opt.selected = d.deviceId === current;
            return opt;
          }),
      );
    };
    fill(this.camSelect, 'videoinput', this.stream?.getVideoTracks()[0]?.getSettings().deviceId);
    fill(this.micSelect, 'audioinput', this.stream?.getAudioTracks()[0]?.getSettings().deviceId);
  }
}

/** A whole meeting link pasted into the meeting field: its ID, secret and mode (undefined if it is not one). */
function parsePastedLink(text: string): { meetingId: string; secret: string; call: boolean } | undefined {
  if (!text.includes('#')) return undefined;
  try {
    const url = new URL(text, location.origin);
    const meetingId = url.searchParams.get('meeting') ?? '';
    const secret = new URLSearchParams(url.hash.slice(1)).get('s') ?? '';
    if (!ID_PATTERN.test(meetingId) || !LINK_SECRET_PATTERN.test(secret)) return undefined;
    return { meetingId, secret, call: url.searchParams.get('mode') === 'call' };
  } catch {
    return undefined;
  }
}
