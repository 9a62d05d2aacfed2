// The in-meeting screen: header with security status, the video grid,
// the self view and the control bar. Tiles are keyed by participant so video
// elements survive re-renders. Who has a tile, and under which name, comes
// from the `tiles` extra (the verified roster), never from the server.

import type { Meeting, RemoteParticipant } from '../meeting.ts';
import { gridEntries, type GridEntry } from '../e2ee/grid.ts';
import { clear, h, lockIcon } from './dom.ts';
import { reconnectText } from '../net/reconnect-status.ts';
import { arrange, autoPerPage, type LayoutMode } from './layout.ts';
import { createReactionBar, showReactionOn } from './reactions.ts';
import { SHORTCUTS } from './shortcuts.ts';
import { installShortcuts } from './shortcuts-help.ts';
import { createViewBar, type ViewBar } from './view-bar.ts';
import type { ReactionName } from '../e2ee/in-call-signals.ts';

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
  /** Who speaks now (from received audio levels), for the speaker layout. */
  activeSpeaker?: () => string | undefined;
  /** A participant's network quality as we receive them (level and the figures, for the tooltip). */
  tileQuality?: (p: RemoteParticipant) => { level: string; text: string };
  /** Raised hands (sent encrypted and signed, like chat). */
  hands?: { raised: (participantId: string) => boolean; set: (raised: boolean) => void };
  /** Sends a reaction (encrypted and signed, like chat). */
  react?: (r: ReactionName) => void;
}

export class MeetingView {
  readonly root: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly headerExtra: HTMLElement;
  private readonly alerts: HTMLElement;
  private readonly status: HTMLElement;
  private readonly retryNow: HTMLButtonElement;
  private readonly selfVideo: HTMLVideoElement;
  private readonly selfTile: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly viewBar: ViewBar;
  private mode: LayoutMode = 'grid';
  private pinned?: string;
  private page = 0;
  /** Tiles per screen the user chose (0: by window size). */
  private perPageChoice = 0;
  /** The speaker featured last: kept while nobody speaks, so the stage does not jump. */
  private lastSpeaker?: string;
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
    // The self view is a tile of the grid, so it never covers anyone's name or E2EE badge.
    this.selfTile = h(
      'section',
      { class: 'tile self-tile', 'data-testid': 'self-tile', 'aria-label': 'You' },
      this.selfVideo,
      h(
        'div',
        { class: 'tile-info' },
        h('span', { class: 'name self-label' }, 'You'),
        h('span', { class: 'hand', 'data-testid': 'hand', hidden: true }, '✋ Hand raised'),
      ),
    );
    this.viewBar = createViewBar({
      toggleMode: () => {
        this.mode = this.mode === 'grid' ? 'speaker' : 'grid';
        this.page = 0;
        this.render();
      },
      setPerPage: (n) => {
        this.perPageChoice = n;
        this.page = 0;
        this.render();
      },
      turnPage: (by) => {
        this.page += by;
        this.render();
      },
    });
    addEventListener('resize', () => this.render());
    this.headerExtra = h('div', { class: 'header-extra' });
    // The page's one live region: alerts only (role log: each new alert is read once, nothing else is).
    this.alerts = h('div', { class: 'alerts', role: 'log', 'aria-live': 'polite', 'aria-label': 'Alerts', 'data-testid': 'alerts' });
    this.status = h('span', { class: 'conn-status', 'data-testid': 'connection-state' });
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
        h('div', { class: 'grid-wrap' }, this.grid, this.viewBar.el, ...(extras.overlays ?? [])),
        ...(extras.panels ?? []),
      ),
      this.controls,
    );
    this.renderControls();
    installShortcuts(this.root, this.viewBar.help);
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
    const shortcut = SHORTCUTS.find((s) => s.control === testid);
    if (shortcut) b.setAttribute('aria-keyshortcuts', shortcut.keys);
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

  private ownHand(): boolean {
    const self = this.meeting.join?.participantId;
    return self !== undefined && (this.extras.hands?.raised(self) ?? false);
  }

  private handButton(hands: NonNullable<MeetingViewExtras['hands']>): HTMLButtonElement {
    const raised = this.ownHand();
    return this.button(raised ? 'Lower hand' : 'Raise hand', 'hand-toggle', raised, () => hands.set(!this.ownHand()));
  }

  /** A reaction's bubble on the sender's tile (ours on the self view). */
  showReaction(participantId: string, reaction: ReactionName): void {
    const tile = participantId === this.meeting.join?.participantId ? this.selfTile : this.tiles.get(participantId);
    if (tile) showReactionOn(tile, reaction);
  }

  /** Rebuilds the buttons only when their state changed, so a click never lands on a replaced button. */
  private renderControls(): void {
    const m = this.meeting;
    const sig = JSON.stringify([m.local, (this.extras.panels ?? []).map((p) => p.hidden), this.ownHand()]);
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
      ...(this.extras.hands ? [this.handButton(this.extras.hands)] : []),
      ...(this.extras.react ? [createReactionBar(this.extras.react)] : []),
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
        this.grid.prepend(h('p', { class: 'empty' }, 'Waiting for others to join… Share this page’s link to invite them.'));
    } else this.grid.querySelector('.empty')?.remove();
    this.applyLayout();
  }

  /** Shows the featured tile, the current page and the self view; hides the rest (their media keeps playing). */
  private applyLayout(): void {
    const keys = [...this.tiles.keys()];
    if (this.pinned && !this.tiles.has(this.pinned)) this.pinned = undefined;
    const speaker = this.extras.activeSpeaker?.();
    if (speaker && this.tiles.has(speaker)) this.lastSpeaker = speaker;
    const layout = arrange({
      keys,
      mode: this.mode,
      pinned: this.pinned,
      speaker: this.lastSpeaker,
      page: this.page,
      perPage: this.perPageChoice || autoPerPage(innerWidth, innerHeight),
    });
    this.page = layout.page;
    const shown = new Set(layout.shown);
    for (const [key, tile] of this.tiles) {
      tile.hidden = key !== layout.featured && !shown.has(key);
      tile.classList.toggle('featured', key === layout.featured);
      const pin = tile.querySelector<HTMLButtonElement>('.pin');
      if (pin) {
        pin.setAttribute('aria-pressed', String(key === this.pinned));
        pin.textContent = key === this.pinned ? 'Unpin' : 'Pin';
      }
    }
    // Order (featured first, self view last) is CSS, not DOM moves: a moved video element would restart.
    if (this.selfTile.parentNode !== this.grid) this.grid.append(this.selfTile);
    this.selfTile.querySelector<HTMLElement>('.hand')!.hidden = !this.ownHand();
    this.grid.classList.toggle('has-featured', layout.featured !== undefined);
    this.grid.dataset['layout'] = this.mode;
    this.grid.dataset['featured'] = layout.featured ?? '';
    this.grid.dataset['speaker'] = speaker ?? '';
    this.viewBar.show(this.mode, layout);
  }

  private togglePin(key: string): void {
    this.pinned = this.pinned === key ? undefined : key;
    this.page = 0;
    this.render();
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
    const el = h('div', { class: `alert ${level}` }, text);
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
          h('span', { class: 'net', 'data-testid': 'net-quality', role: 'img' }),
          h('span', { class: 'hand', 'data-testid': 'hand', hidden: true }, '✋ Hand raised'),
          h('span', { class: 'ident' }),
          h('span', { class: 'e2ee-badge' }),
        ),
        h('div', { class: 'tile-note' }),
      );
      const pin = h('button', { class: 'pin small-btn', 'data-testid': 'pin', 'aria-pressed': 'false' }, 'Pin');
      pin.addEventListener('click', () => this.togglePin(key));
      tile.append(pin);
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
    const pinLabel = `${this.pinned === key ? 'Unpin' : 'Pin'} ${kind === 'screen' ? `${name}'s screen` : name}`;
    const pinButton = tile.querySelector('.pin')!;
    pinButton.setAttribute('aria-label', pinLabel);
    pinButton.setAttribute('title', pinLabel);
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
    tile.querySelector<HTMLElement>('.hand')!.hidden = kind !== 'camera' || !(this.extras.hands?.raised(p.id) ?? false);
    const net = tile.querySelector<HTMLElement>('.net')!;
    const quality = kind === 'camera' ? this.extras.tileQuality?.(p) : undefined;
    net.hidden = !quality;
    if (quality) {
      net.dataset['quality'] = quality.level;
      net.textContent = NET_BARS[quality.level] ?? '';
      net.title = quality.text;
      net.setAttribute('aria-label', quality.text);
    }
    const badge = tile.querySelector('.e2ee-badge')!;
    badge.textContent = status.text;
    badge.className = `e2ee-badge ${status.state}`;
  }
}

/** Signal bars for the network level (the tooltip has the figures). */
const NET_BARS: Record<string, string> = { good: '▂▄▆', fair: '▂▄', poor: '▂', unknown: '·' };

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
