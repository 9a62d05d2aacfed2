// The in-meeting screen: header with security status, the video grid,
// the self view and the control bar. Tiles are keyed by participant so video
// elements survive re-renders. Who has a tile, and under which name, comes
// from the `tiles` extra (the verified roster), never from the server.

import type { Meeting, RemoteParticipant } from '../meeting.ts';
import { gridEntries, type GridEntry } from '../e2ee/grid.ts';
import { clear, h, lockIcon } from './dom.ts';
import { reconnectText } from '../net/reconnect-status.ts';

export interface MeetingViewExtras {
  /** Extra header content (security code, epoch), rendered on every change. */
  header?: (el: HTMLElement) => void;
  /** Side panels (security, chat) mounted once. */
  panels?: HTMLElement[];
  /** Overlays over the stage (e.g. the lobby). */
  overlays?: HTMLElement[];
  /** Extra text for a participant's E2EE badge. */
  tileStatus?: (p: RemoteParticipant, kind: 'camera' | 'screen') => { state: string; text: string };
  /** Identity verification of a participant: 'verified' | 'unverified' | 'identity-changed' | 'unknown'. */
  tileIdentity?: (p: RemoteParticipant) => string;
  /** Who gets a tile and under which name; without it, everyone present, unverified. */
  tiles?: () => GridEntry[];
  /** The whole meeting link (with its secret), for the Invite button. */
  inviteLink?: () => string;
}

export class MeetingView {
  readonly root: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly headerExtra: HTMLElement;
  private readonly alerts: HTMLElement;
  private readonly status: HTMLElement;
  private readonly retryNow: HTMLButtonElement;
  private readonly selfVideo: HTMLVideoElement;
  private readonly controls: HTMLElement;
  private readonly tiles = new Map<string, HTMLElement>();
  private shownAlerts = 0;
  private endCard?: HTMLElement;

  constructor(
    private readonly meeting: Meeting,
    localStream: MediaStream,
    private readonly extras: MeetingViewExtras = {},
  ) {
    this.selfVideo = h('video', { class: 'self-video', autoplay: true, playsinline: true, 'aria-label': 'Your camera' });
    this.selfVideo.muted = true;
    this.selfVideo.srcObject = localStream;
    this.grid = h('main', { class: 'grid', 'data-testid': 'grid', 'aria-label': 'Participants' });
    this.headerExtra = h('div', { class: 'header-extra' });
    this.alerts = h('div', { class: 'alerts', role: 'status', 'data-testid': 'alerts' });
    this.status = h('span', { class: 'conn-status', 'data-testid': 'connection-state', role: 'status' });
    this.retryNow = h('button', { class: 'retry-now', 'data-testid': 'reconnect-now', hidden: true }, 'Try now');
    this.retryNow.addEventListener('click', () => meeting.tryReconnectNow());
    this.controls = h('nav', { class: 'controls', 'aria-label': 'Meeting controls' });
    this.root = h(
      'div',
      { class: 'meeting' },
      h(
        'header',
        { class: 'meeting-header' },
        h('div', { class: 'brand' }, lockIcon(), ' ', meeting.opts.mode === 'call' ? 'One-on-one call' : meeting.opts.meetingId),
        this.status,
        this.retryNow,
        this.headerExtra,
      ),
      this.alerts,
      h(
        'div',
        { class: 'stage' },
        h(
          'div',
          { class: 'grid-wrap' },
          this.grid,
          h('div', { class: 'self' }, this.selfVideo, h('span', { class: 'self-label' }, 'You')),
          ...(extras.overlays ?? []),
        ),
        ...(extras.panels ?? []),
      ),
      this.controls,
    );
    this.renderControls();
    meeting.subscribe(() => this.render());
    this.render();
    // The countdown to the next reconnect try.
    setInterval(() => {
      if (meeting.phase === 'reconnecting') this.renderStatus();
    }, 1000);
  }

  private button(label: string, testid: string, pressed: boolean | undefined, onClick: () => void, extraClass = ''): HTMLButtonElement {
    const b = h('button', { class: `ctl ${extraClass}`, 'data-testid': testid, 'aria-label': label, title: label }, label);
    if (pressed !== undefined) b.setAttribute('aria-pressed', String(pressed));
    b.addEventListener('click', onClick);
    return b;
  }

  /** Copies the whole link; where the clipboard is refused, shows it to copy by hand. */
  private copyInvite(): void {
    const link = this.extras.inviteLink?.() ?? '';
    const m = this.meeting;
    const copied = navigator.clipboard?.writeText(link) ?? Promise.reject(new Error('no clipboard'));
    copied.then(
      () => m.alert('info', 'Meeting link copied. Anyone with it can join or ask to: share it only with the people you invite.'),
      () => m.alert('warn', `Copy this meeting link (anyone with it can join): ${link}`),
    );
  }

  private controlsShown = '';

  /** Rebuilds the buttons only when their state changed, so a click never lands on a replaced button. */
  private renderControls(): void {
    const m = this.meeting;
    const sig = JSON.stringify([m.local, (this.extras.panels ?? []).map((p) => p.hidden)]);
    if (sig === this.controlsShown) return;
    this.controlsShown = sig;
    clear(this.controls);
    this.controls.append(
      this.button(m.local.micMuted ? 'Unmute' : 'Mute', 'mic-toggle', m.local.micMuted, () => void m.setMicMuted(!m.local.micMuted)),
      this.button(
        m.local.cameraOff ? 'Start camera' : 'Stop camera',
        'camera-toggle',
        m.local.cameraOff,
        () => void m.setCameraOff(!m.local.cameraOff),
      ),
      this.button(m.local.sharing ? 'Stop sharing' : 'Share screen', 'screen-toggle', m.local.sharing, () => {
        const p = m.local.sharing ? m.stopScreenShare() : m.startScreenShare();
        p.catch((e: unknown) => m.alert('error', `Screen share failed: ${e instanceof Error ? e.message : String(e)}`));
      }),
      ...(this.extras.inviteLink ? [this.button('Invite', 'invite', undefined, () => this.copyInvite())] : []),
      ...(this.extras.panels ?? []).map((panel) =>
        this.button(panel.dataset['title'] ?? 'Panel', `${panel.dataset['testid'] ?? 'panel'}-toggle`, !panel.hidden, () => {
          panel.hidden = !panel.hidden;
          this.renderControls();
        }),
      ),
      this.button('Leave', 'leave', undefined, () => void m.leave(), 'danger'),
    );
  }

  private renderStatus(): void {
    const m = this.meeting;
    this.retryNow.hidden = !(m.phase === 'reconnecting' && m.reconnecting?.nextTryAt !== undefined);
    this.status.textContent =
      m.phase === 'joined'
        ? 'Connected'
        : m.phase === 'connecting'
          ? 'Connecting…'
          : m.phase === 'left'
            ? 'You left the meeting'
            : m.phase === 'failed'
              ? `Disconnected: ${m.error ?? ''}`
              : m.phase === 'reconnecting'
                ? m.reconnecting
                  ? reconnectText(m.reconnecting, Date.now())
                  : 'Reconnecting…'
                : m.phase;
    this.status.dataset['state'] = m.phase;
    this.status.dataset['cause'] = m.reconnecting?.cause ?? '';
  }

  private render(): void {
    const m = this.meeting;
    this.renderStatus();
    this.renderControls();
    this.renderEndCard();
    this.extras.header?.(this.headerExtra);
    for (const a of m.alerts.slice(this.shownAlerts)) this.showAlert(a.level, a.text);
    this.shownAlerts = m.alerts.length;

    const wanted = new Set<string>();
    const entries = this.extras.tiles?.() ?? gridEntries([], m.participants, m.join?.participantId);
    for (const entry of entries) {
      const p = entry.participant;
      wanted.add(p.id);
      this.renderTile(p.id, entry, 'camera');
      // A screen share we could not receive keeps its tile, which says why.
      if (p.tracks.screen || p.failedStreams.screen) {
        wanted.add(`${p.id}:screen`);
        this.renderTile(`${p.id}:screen`, entry, 'screen');
      }
    }
    for (const [key, el] of this.tiles) {
      if (!wanted.has(key)) {
        el.remove();
        this.tiles.delete(key);
      }
    }
    this.grid.dataset['count'] = String(this.tiles.size);
    if (this.tiles.size === 0) {
      if (!this.grid.querySelector('.empty'))
        this.grid.append(h('p', { class: 'empty' }, 'Waiting for others to join… Share this page’s link to invite them.'));
    } else this.grid.querySelector('.empty')?.remove();
  }

  /** Left, refused or disconnected: say so plainly and offer the way back. */
  private renderEndCard(): void {
    const m = this.meeting;
    if (m.phase !== 'left' && m.phase !== 'failed') {
      this.endCard?.remove();
      this.endCard = undefined;
      return;
    }
    if (this.endCard) return;
    const refused = m.phase === 'failed' && m.errorCode && m.errorCode !== 'UNREACHABLE' && m.errorCode !== 'INTERNAL';
    const title = m.phase === 'left' ? 'You left the meeting' : refused ? 'You could not join' : 'Disconnected';
    const rejoin = h('button', { class: 'primary', 'data-testid': 'rejoin' }, 'Rejoin');
    rejoin.addEventListener('click', () => location.reload());
    const home = h('a', { href: '/', class: 'secondary-link' }, 'Start page');
    this.endCard = h(
      'div',
      {
        class: 'end-card',
        role: 'alertdialog',
        'aria-labelledby': 'end-title',
        'data-testid': refused ? 'join-error' : 'end-screen',
        'data-code': m.errorCode ?? '',
      },
      h('h2', { id: 'end-title' }, title),
      m.phase === 'failed'
        ? h('p', {}, m.error ?? '')
        : h('p', {}, m.error ? `${m.error} ` : '', 'Your keys for this meeting were erased.'),
      h('div', { class: 'row' }, rejoin, home),
    );
    this.root.append(this.endCard);
    rejoin.focus();
  }

  private showAlert(level: string, text: string): void {
    const el = h('div', { class: `alert ${level}`, role: level === 'error' ? 'alert' : 'status' }, text);
    const close = h('button', { class: 'alert-close', 'aria-label': 'Dismiss' }, '×');
    close.addEventListener('click', () => el.remove());
    el.append(close);
    this.alerts.append(el);
    if (level === 'info') setTimeout(() => el.remove(), 6000);
  }

  private renderTile(key: string, entry: GridEntry, kind: 'camera' | 'screen'): void {
    const { participant: p, name } = entry;
    let tile = this.tiles.get(key);
    if (!tile) {
      const video = h('video', { autoplay: true, playsinline: true });
      video.muted = true; // audio plays through its own element
      tile = h(
        'section',
        { class: `tile ${kind}` },
        video,
        h(
          'div',
          { class: 'tile-info' },
          h('span', { class: 'name' }),
          h('span', { class: 'mic' }),
          h('span', { class: 'ident' }),
          h('span', { class: 'e2ee-badge' }),
        ),
        h('div', { class: 'tile-note' }),
      );
      if (kind === 'camera') {
        tile.dataset['testid'] = 'tile';
        const audio = h('audio', { autoplay: true });
        tile.append(audio);
      } else tile.dataset['testid'] = 'screen-tile';
      this.tiles.set(key, tile);
      this.grid.append(tile);
    }
    tile.dataset['participant'] = p.id;
    tile.dataset['inKey'] = String(entry.inKey);
    tile.dataset['presence'] = entry.present ? 'present' : 'absent';
    tile.classList.toggle('outside-key', !entry.inKey);
    tile.classList.toggle('absent', !entry.present);
    tile.setAttribute('aria-label', kind === 'screen' ? `${name}'s screen` : name);
    const status = this.extras.tileStatus?.(p, kind) ?? { state: p.e2ee, text: p.e2ee };
    tile.dataset['e2ee'] = status.state;
    const video = tile.querySelector('video')!;
    const track = kind === 'screen' ? p.tracks.screen?.track : p.tracks.camera?.track;
    attach(video, track);
    if (kind === 'camera') {
      const audio = tile.querySelector('audio')!;
      attach(audio, p.tracks.mic?.track);
    }
    tile.classList.toggle('speaking', kind === 'camera' && p.speaking);
    tile.classList.toggle('camera-off', kind === 'camera' && (p.cameraOff || !p.tracks.camera));
    tile.querySelector('.name')!.textContent = kind === 'screen' ? `${name} (screen)` : name;
    const mic = tile.querySelector('.mic')!;
    mic.textContent = kind === 'camera' && p.micMuted ? '🔇' : '';
    mic.setAttribute('aria-label', p.micMuted ? 'muted' : '');
    tile.dataset['muted'] = String(p.micMuted);
    if (kind === 'camera') {
      // A member sending neither audio nor video is still listening: say so, a silent ghost should stand out.
      const silent = !p.tracks.mic && !p.tracks.camera;
      tile.dataset['silent'] = String(silent);
      tile.querySelector('.tile-note')!.textContent = tileNotes(entry, silent).join(' · ');
      const ident = this.extras.tileIdentity?.(p) ?? 'unknown';
      tile.dataset['verified'] = ident;
      const el = tile.querySelector('.ident')!;
      el.textContent = ident === 'verified' ? '✓ verified' : ident === 'identity-changed' ? '⚠ identity changed' : '';
      el.className = `ident ${ident}`;
    }
    const badge = tile.querySelector('.e2ee-badge')!;
    badge.textContent = status.text;
    badge.className = `e2ee-badge ${status.state}`;
  }
}

/** What the tile must say besides the name: outside the key, said to have left, listening only. */
function tileNotes(entry: GridEntry, silent: boolean): string[] {
  const notes: string[] = [];
  if (entry.noLink) notes.push('Outside this meeting — does not hold this meeting link (another link, or the server)');
  else if (!entry.inKey) notes.push('Not in the meeting key — identity unverified');
  else if (!entry.present) notes.push('Server says not connected — still holds the meeting key');
  if (silent) notes.push('Not sending audio or video — listening only');
  return notes;
}

function attach(el: HTMLMediaElement, track: MediaStreamTrack | undefined): void {
  const current = (el.srcObject as MediaStream | null)?.getTracks()[0];
  if (current === track) return;
  el.srcObject = track ? new MediaStream([track]) : null;
  if (track) {
    el.play().catch(() => {
      // Autoplay with sound needs a user gesture: show a one-click prompt.
      if (el instanceof HTMLAudioElement) document.dispatchEvent(new CustomEvent('autoplay-blocked'));
    });
  }
}
