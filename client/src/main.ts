// App entry: the pre-join screen, or straight into the meeting with
// `?meeting=ID&name=NAME&join=1#s=SECRET` (a stable interface for tests and
// scripts). The secret after `#` never reaches the server (browsers do not
// send the fragment); a link without it gets the refusal screen, never a join.

import './style.css';
import type { MeetingMode } from '../../shared/protocol/signaling.ts';
import { cleanDisplayName } from '../../shared/display-name.ts';
import { ID_PATTERN } from '../../shared/protocol/validate.ts';
import { Meeting } from './meeting.ts';
import { FrameCrypto, detectTransformPath } from './e2ee/frame-crypto.ts';
import { E2eeController } from './e2ee/controller.ts';
import { loadIdentity } from './e2ee/identity-store.ts';
import { fingerprint, initCrypto, linkSecretFromHash, newLinkSecret, type IdentityKeyPair } from '../../shared/e2ee/index.ts';
import { toBase64Url } from '../../shared/e2ee/encoding.ts';
import { createLobbyOverlay, createSecurityPanel, renderSecurityHeader } from './ui/security-panel.ts';
import { createChatPanel } from './ui/chat-panel.ts';
import { createDevicesPanel } from './ui/devices-panel.ts';
import { MeetingView } from './ui/meeting-view.ts';
import { CallMonitor } from './media/call-monitor.ts';
import { constraintsFor } from './media/devices.ts';
import type { InCallSignal } from './e2ee/in-call-signals.ts';
import { PrejoinView, type PrejoinChoice } from './ui/prejoin-view.ts';
import { h } from './ui/dom.ts';
import { showTestBuildBanner } from './ui/test-build-banner.ts';
import { showWhileMediaPending, unsupportedBrowserScreen } from './ui/browser-screens.ts';
import { missingCapabilities, probeCapabilities } from './capabilities.ts';
import { clearRelayForTest, createKeyLog, installTestSurface } from './test-surface.ts';

const app = document.getElementById('app')!;
const params = new URLSearchParams(location.search);

function randomMeetingId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

async function getLocalMedia(choice: {
  audioDeviceId?: string;
  videoDeviceId?: string;
}): Promise<{ stream: MediaStream; warning?: string }> {
  const { video } = constraintsFor('video', choice.videoDeviceId);
  const { audio } = constraintsFor('audio', choice.audioDeviceId);
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio, video }) };
  } catch (e) {
    const name = e instanceof DOMException ? e.name : 'Error';
    try {
      return {
        stream: await navigator.mediaDevices.getUserMedia({ audio }),
        warning: `Camera unavailable (${name}); joining with audio only.`,
      };
    } catch {
      return { stream: new MediaStream(), warning: `Camera and microphone unavailable (${name}); you can still see and hear others.` };
    }
  }
}

/** The whole link to a meeting: ID and mode in the query, the secret in the fragment. */
function meetingLink(meetingId: string, mode: MeetingMode, secret: string): string {
  return `${location.origin}/?meeting=${encodeURIComponent(meetingId)}${mode === 'call' ? '&mode=call' : ''}#s=${secret}`;
}

/** libsodium (WebAssembly) did not load, so no keys can be made: say so rather than leave the page blank or waiting. */
function showEncryptionFailed(cause: unknown): void {
  const detail = cause instanceof Error ? cause.message : String(cause);
  app.replaceChildren(
    h(
      'div',
      { class: 'fatal', role: 'alert', 'data-testid': 'encryption-failed' },
      h('h1', {}, 'Encryption could not start'),
      h(
        'p',
        {},
        'This page makes your keys with an encryption library that runs as WebAssembly, and the browser did not load it. ',
        'Nothing was sent: you have not joined. Reload the page to try again; if it keeps failing, this browser may block WebAssembly (some locked-down settings do).',
      ),
      h('p', { class: 'muted' }, `Details: ${detail}`),
    ),
  );
}

/** The screen for a link without its secret, or with a malformed one: nothing is sent to the server. */
function showIncompleteLink(code: string): void {
  const fresh = h('a', { href: '/', class: 'button secondary', 'data-testid': 'start-new-meeting' }, 'Start a new meeting instead');
  app.replaceChildren(
    h(
      'div',
      { class: 'fatal', role: 'alert', 'data-testid': 'link-refused', 'data-code': code },
      h('h1', {}, 'This meeting link is incomplete'),
      h(
        'p',
        {},
        code === 'LINK_MISSING'
          ? 'The link has no secret: the part that starts with “#s=” is missing. '
          : 'The secret in this link (after “#s=”) is damaged: it must be 22 to 86 letters, digits, - or _. ',
        'That secret is what lets your browser prove to the others that you were invited, without the server ever seeing it, so this page cannot join without it.',
      ),
      h(
        'p',
        {},
        'Ask the person who invited you to send the whole link again (their Invite button copies it), and open it exactly as sent. Some chat apps cut links at “#”.',
      ),
      fresh,
    ),
  );
}

async function enterMeeting(
  choice: PrejoinChoice,
  stream: MediaStream,
  identity: IdentityKeyPair,
  secret: Uint8Array,
  warning?: string,
): Promise<void> {
  let secretText = toBase64Url(secret);
  const url = new URL(location.href);
  url.searchParams.set('meeting', choice.meetingId);
  url.searchParams.delete('join');
  url.searchParams.delete('name');
  if (choice.mode === 'call') url.searchParams.set('mode', 'call');
  // The address bar holds the whole link (a reload rejoins with it); replaced, not pushed, so history keeps no other.
  const showLink = (): void => {
    url.hash = `s=${secretText}`;
    history.replaceState(null, '', url);
  };
  showLink();

  const path = detectTransformPath(params.get('transform'));
  if (!path) {
    // Never fall back to unencrypted media (main() checked already; this keeps the type honest).
    app.replaceChildren(unsupportedBrowserScreen(['encoded-transform']));
    return;
  }
  const frames = new FrameCrypto(path);
  if (__E2EE_TEST_HOOKS__) {
    // `&test=plaintext` (control runs of the blindness audit) or `&test=wrong-key`.
    const t = params.get('test');
    frames.configureForTest({ plaintext: t === 'plaintext', corruptReceiveKeys: t === 'wrong-key' });
    if (t === 'plaintext') console.warn('TEST BUILD: media is sent WITHOUT end-to-end encryption (control run)');
  }
  const meeting = new Meeting({ meetingId: choice.meetingId, name: choice.name, mode: choice.mode, hooks: frames });
  const keyLog = __E2EE_TEST_HOOKS__ ? createKeyLog() : undefined;
  const clearRelay = __E2EE_TEST_HOOKS__ && params.get('test') === 'no-link-envelope' ? clearRelayForTest : undefined;
  const e2ee = new E2eeController(meeting, frames, identity, secret, keyLog?.record, clearRelay);
  e2ee.onLinkChanged((next) => {
    secretText = next;
    showLink();
  });
  // Test build only: the one window hook tests read (never in dist/, see test-surface.ts).
  if (__E2EE_TEST_HOOKS__ && keyLog) installTestSurface({ meeting, e2ee, keys: keyLog.keys });
  const monitor = new CallMonitor(meeting);
  const signal = (s: InCallSignal): void => {
    const r = e2ee.sendSignal(s);
    if (!r.ok) meeting.alert('warn', `${s.type === 'hand' ? 'Hand' : 'Reaction'} not sent: ${r.message}`);
  };
  const view = new MeetingView(meeting, stream, {
    header: (el) => renderSecurityHeader(el, e2ee),
    panels: [createSecurityPanel(meeting, e2ee), createChatPanel(e2ee), createDevicesPanel(meeting)],
    overlays: [createLobbyOverlay(meeting, e2ee)],
    tileStatus: (p, kind) => e2ee.tileStatus(p, kind),
    tileIdentity: (p) => e2ee.identityOf(p.id),
    tiles: () => e2ee.gridEntries(),
    inviteLink: () => meetingLink(choice.meetingId, choice.mode, secretText),
    activeSpeaker: () => monitor.speaker,
    tileQuality: (p) => monitor.qualityOf(p.id),
    hands: {
      raised: (id) => e2ee.hands.has(id),
      set: (raised) => signal({ type: 'hand', raised }),
    },
    react: (reaction) => signal({ type: 'reaction', reaction }),
  });
  e2ee.onReaction((from, reaction) => view.showReaction(from, reaction));
  app.replaceChildren(view.root);
  meeting.subscribe(() => {
    if (meeting.phase === 'left') {
      e2ee.stop();
      monitor.stop();
    }
  });
  monitor.start();
  if (warning) meeting.alert('warn', warning);
  window.addEventListener('online', () => meeting.networkBack());
  document.addEventListener('autoplay-blocked', () => showAudioUnlock(), { once: true });
  try {
    await meeting.start(stream);
  } catch {
    // The view shows meeting.error.
  }
}

function showAudioUnlock(): void {
  const b = h('button', { class: 'audio-unlock', 'data-testid': 'audio-unlock' }, '🔈 Click to hear the meeting');
  b.addEventListener('click', () => {
    document.querySelectorAll('audio').forEach((a) => void a.play().catch(() => {}));
    b.remove();
  });
  document.body.append(b);
}

async function main(): Promise<void> {
  const meetingParam = params.get('meeting');
  const mode: MeetingMode = params.get('mode') === 'call' ? 'call' : 'meeting';
  const meetingId = meetingParam && ID_PATTERN.test(meetingParam) ? meetingParam : undefined;
  const name = cleanDisplayName(params.get('name') ?? '') || cleanDisplayName(localStorage.getItem('displayName') ?? '');

  if (__E2EE_TEST_HOOKS__) showTestBuildBanner();
  // Capability, not browser name: say so before anyone fills in a form.
  const missing = missingCapabilities(probeCapabilities());
  if (missing.length > 0) return void app.replaceChildren(unsupportedBrowserScreen(missing));
  const link = linkSecretFromHash(location.hash);
  // A link to a meeting must carry its secret: no trust-on-first-use fallback.
  if (meetingParam !== null && !link.ok) return showIncompleteLink(link.error.code);
  // libsodium loads while the camera opens and the pre-join screen shows: neither waits for it.
  const sodiumReady = initCrypto();
  if (params.get('join') === '1' && meetingId && name && link.ok) {
    const media = getLocalMedia({});
    // A prompt, or Firefox holding the camera until the tab is in front: say so rather than show a blank page.
    showWhileMediaPending(app, media);
    const guest = params.get('guest') === '1';
    const [got, loaded] = await Promise.allSettled([media, sodiumReady.then(() => loadIdentity(guest))]);
    if (loaded.status === 'rejected') return showEncryptionFailed(loaded.reason);
    if (got.status === 'rejected') throw got.reason;
    const { stream, warning } = got.value;
    const { identity } = loaded.value;
    const choice = { meetingId, name, mode, secret: toBase64Url(link.value), guest };
    await enterMeeting(choice, stream, identity, link.value, warning);
    return;
  }
  const stored = sodiumReady.then(() => loadIdentity(false));
  const guestBox = h('input', { type: 'checkbox', id: 'guest', 'data-testid': 'guest-mode' });
  // The form shows at once; the fingerprint fills in once libsodium and the stored identity are ready.
  const identityLabel = h('div', { class: 'muted' }, 'Loading your identity…');
  const identityPrint = h('div', { class: 'fingerprint', 'data-testid': 'prejoin-fingerprint' });
  const identityInfo = h(
    'div',
    { class: 'identity-box' },
    identityLabel,
    identityPrint,
    h('label', { class: 'check' }, guestBox, ' Join as a guest with a one-meeting identity'),
  );
  stored.then(
    (s) => {
      identityLabel.textContent =
        s.origin === 'guest'
          ? 'One-meeting identity (this browser cannot store keys)'
          : 'Your identity fingerprint (others see it in the security panel)';
      identityPrint.textContent = fingerprint(s.identity.publicKey);
    },
    () => {
      identityLabel.textContent = 'Encryption could not start in this browser: reload the page to try again.';
    },
  );
  const prejoin = new PrejoinView({
    meetingId: meetingId ?? '',
    name,
    mode,
    invalidMeeting: meetingParam !== null && !meetingId,
    newMeetingId: randomMeetingId,
    // WebCrypto's generator: the button works before libsodium has loaded.
    newSecret: () => newLinkSecret((n) => crypto.getRandomValues(new Uint8Array(n))),
    secret: link.ok ? toBase64Url(link.value) : undefined,
    linkTo: meetingLink,
    getMedia: getLocalMedia,
    extra: identityInfo,
    onJoin: (choice, stream) => {
      localStorage.setItem('displayName', choice.name);
      void (async () => {
        const ready = await sodiumReady.then(
          () => (guestBox.checked ? loadIdentity(true) : stored),
          (e: unknown) => {
            showEncryptionFailed(e);
            return undefined;
          },
        );
        if (!ready) return;
        const identity = ready.identity;
        const secret = linkSecretFromHash(`s=${choice.secret}`);
        if (!secret.ok) return showIncompleteLink(secret.error.code);
        await enterMeeting({ ...choice, guest: guestBox.checked }, stream, identity, secret.value);
      })();
    },
  });
  app.replaceChildren(prejoin.root);
}

void main();
