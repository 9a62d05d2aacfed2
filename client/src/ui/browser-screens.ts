// Screens about the browser itself: the one for a browser that cannot encrypt
// media end to end, and the note a page shows while the browser holds back
// the camera and microphone (a permission prompt, or Firefox waiting for the
// tab to be in front).

import { CAPABILITY_TEXT, type Capability } from '../capabilities.ts';
import { h } from './dom.ts';

/** Only what the browser tests run on is claimed (README, "Browsers"). */
const WORKING_BROWSERS =
  'Works in current Chromium-based browsers (such as Chrome and Edge; tested with Chromium) and Firefox (tested with Firefox ESR). Safari has the same standard transform but is untested.';

export function unsupportedBrowserScreen(missing: readonly Capability[]): HTMLElement {
  return h(
    'div',
    { class: 'fatal', role: 'alert', 'data-testid': 'unsupported-browser', 'data-missing': missing.join(' ') },
    h('h1', {}, 'This browser cannot encrypt media end to end'),
    h('p', {}, 'A meeting here needs:'),
    h('ul', {}, ...missing.map((c) => h('li', { 'data-capability': c }, CAPABILITY_TEXT[c]))),
    h(
      'p',
      {},
      missing.includes('secure-context')
        ? 'Open this page over HTTPS (or from localhost on this machine). '
        : 'Nothing was sent unencrypted: this page did not join. ',
      WORKING_BROWSERS,
    ),
  );
}

export type MediaWait = 'focus' | 'permission';

/** Why getUserMedia has not answered yet, as far as the page can tell. */
export function mediaWaitReason(page: { visible: boolean; focused: boolean }): MediaWait {
  return page.visible && page.focused ? 'permission' : 'focus';
}

const WAIT_TEXT: Readonly<Record<MediaWait, [string, string]>> = {
  focus: ['Click this tab to join', 'Your browser waits until this tab is in front before it opens the camera and microphone.'],
  permission: [
    'Waiting for camera and microphone permission…',
    'Allow them in your browser’s prompt to join. If you block them you join without sending video or audio.',
  ],
};

/**
 * Shows the waiting note in `root` while `pending` is unsettled (after a short
 * delay, so a browser that answers at once shows nothing), following focus
 * and visibility; removes its listeners when `pending` settles.
 */
export function showWhileMediaPending(root: HTMLElement, pending: Promise<unknown>, delayMs = 400): void {
  let settled = false;
  const render = (): void => {
    if (settled) return;
    const reason = mediaWaitReason({ visible: document.visibilityState === 'visible', focused: document.hasFocus() });
    const [title, detail] = WAIT_TEXT[reason];
    root.replaceChildren(
      h(
        'div',
        { class: 'fatal', role: 'status', 'data-testid': 'media-wait', 'data-reason': reason },
        h('h1', {}, title),
        h('p', {}, detail),
      ),
    );
  };
  const timer = setTimeout(() => {
    render();
    window.addEventListener('focus', render);
    window.addEventListener('blur', render);
    document.addEventListener('visibilitychange', render);
  }, delayMs);
  const done = (): void => {
    settled = true;
    clearTimeout(timer);
    window.removeEventListener('focus', render);
    window.removeEventListener('blur', render);
    document.removeEventListener('visibilitychange', render);
    root.querySelector('[data-testid=media-wait]')?.remove();
  };
  pending.then(done, done);
}
