// The security panel: the meeting security code to compare aloud, and the
// participant list from the verified roster (never from the server's word)
// with each identity fingerprint and the current leader.

import type { E2eeController } from '../e2ee/controller.ts';
import type { ShownE2eeState } from '../e2ee/shown-state.ts';
import type { Meeting } from '../meeting.ts';
import { unverifiedLabel } from '../e2ee/names.ts';
import { h } from './dom.ts';
import { fingerprint } from '../../../shared/e2ee/index.ts';

export function createSecurityPanel(meeting: Meeting, e2ee: E2eeController): HTMLElement {
  const panel = h('aside', { class: 'panel security', 'data-testid': 'security-panel', 'aria-label': 'Security' });
  panel.dataset['title'] = 'Security';
  panel.hidden = true;
  const verified = e2ee.verified;
  const actionButton = (label: string, testid: string, onClick: () => void, aria = label): HTMLButtonElement => {
    const b = h('button', { class: 'small-btn', 'data-testid': testid, 'aria-label': aria }, label);
    b.addEventListener('click', onClick);
    return b;
  };
  // Only the leader hands out keys, so only the leader's lock and admissions mean anything.
  const leaderControls = (): HTMLElement | null => {
    if (!e2ee.isLeader)
      return e2ee.locked ? h('p', { class: 'hint' }, 'The meeting is locked by the leader: newcomers wait in the lobby.') : null;
    const lock = h('input', { type: 'checkbox', 'data-testid': 'lock-toggle' });
    lock.checked = e2ee.locked;
    lock.addEventListener('change', () => e2ee.leaderAction(lock.checked ? 'lock' : 'unlock'));
    return h(
      'div',
      { class: 'leader-controls' },
      h('h3', {}, 'You lead this meeting'),
      h('label', { class: 'check' }, lock, ' Lock the meeting (newcomers wait for you to admit them)'),
      h(
        'p',
        { class: 'hint' },
        actionButton('New link', 'new-link', () => e2ee.leaderAction('issue a new link'), 'Issue a new meeting link'),
        ' If the link leaked: everyone here gets a new one, and the old link admits nobody new.',
      ),
      e2ee.waiting.length
        ? h(
            'ul',
            { class: 'waiting-list', 'data-testid': 'waiting-list' },
            ...e2ee.waiting.map((w) =>
              h(
                'li',
                { 'data-participant': w.participantId },
                // Not in the roster yet: the name it signed itself, shown with its fingerprint.
                h('span', { class: 'who' }, w.name || unverifiedLabel(w.participantId)),
                actionButton('Admit', 'admit', () => e2ee.leaderAction('admit', w.participantId), `Admit ${w.name}`),
                actionButton('Deny', 'deny', () => e2ee.leaderAction('deny', w.participantId), `Deny ${w.name}`),
                h('span', { class: 'fingerprint' }, w.fingerprint),
              ),
            ),
          )
        : e2ee.locked
          ? h('p', { class: 'hint' }, 'Nobody is waiting.')
          : null,
    );
  };
  const render = (): void => {
    const code = e2ee.securityCode;
    const self = meeting.join?.participantId;
    panel.replaceChildren(
      h('h2', {}, 'Security'),
      h('p', { class: 'state' }, stateSentence(e2ee)),
      e2ee.longWait ? h('p', { class: 'warn-text', 'data-testid': 'e2ee-long-wait' }, e2ee.longWait) : '',
      h('h3', {}, meeting.opts.mode === 'call' ? 'Call security code' : 'Meeting security code'),
      h('p', { class: 'code big' }, code || '—'),
      h(
        'p',
        { class: 'hint' },
        meeting.opts.mode === 'call'
          ? 'Read this code aloud with the other person. If it matches on both screens, nobody — not even the server — is listening in.'
          : 'Compare this code aloud with everyone. The same code on every screen means everyone holds the same key and sees the same participants. It changes whenever someone joins or leaves.',
      ),
      leaderControls() ?? '',
      h('h3', {}, `In the meeting key (${e2ee.roster.length})`),
      h(
        'ul',
        { class: 'roster', 'data-testid': 'roster' },
        ...e2ee.roster.map((m) => {
          const isSelf = m.participantId === self;
          const name = isSelf ? meeting.opts.name : e2ee.nameOf(m.participantId);
          const status = verified.status(m.identityKey, name);
          const box = h('input', { type: 'checkbox', 'data-testid': 'verify-toggle', 'aria-label': `Mark ${name} as verified` });
          box.checked = status === 'verified';
          box.addEventListener('change', () => {
            verified.set(m.identityKey, name, box.checked);
            render();
          });
          return h(
            'li',
            { 'data-participant': m.participantId, 'data-verified': isSelf ? 'self' : status },
            h('span', { class: 'who' }, isSelf ? `${name} (you)` : name, m.isLeader ? h('span', { class: 'leader' }, ' · leader') : null),
            h('span', { class: 'fingerprint' }, m.fingerprint),
            isSelf ? null : h('label', { class: 'check small' }, box, ' verified'),
            !isSelf && e2ee.isLeader
              ? actionButton('Remove', 'remove', () => e2ee.leaderAction('remove', m.participantId), `Remove ${name} from the meeting`)
              : null,
            status === 'identity-changed' && !isSelf
              ? h('span', { class: 'warn-text' }, `Identity changed: you verified someone named ${name} with a different key.`)
              : null,
          );
        }),
      ),
      h('h3', {}, 'Your identity fingerprint'),
      h('p', { class: 'fingerprint', 'data-testid': 'own-fingerprint' }, fingerprint(e2ee.identity.publicKey)),
    );
  };
  // Re-render only when what the panel shows changed (stats tick every 500 ms).
  let shown = '';
  meeting.subscribe(() => {
    const sig = JSON.stringify([
      e2ee.shownState,
      e2ee.longWait,
      e2ee.epoch,
      e2ee.securityCode,
      e2ee.locked,
      e2ee.waiting.map((w) => w.participantId),
      e2ee.roster.map((m) => [m.participantId, m.isLeader, e2ee.nameOf(m.participantId), e2ee.identityOf(m.participantId)]),
    ]);
    if (sig === shown) return;
    shown = sig;
    render();
  });
  render();
  return panel;
}

function stateSentence(e2ee: E2eeController): string {
  switch (e2ee.shownState) {
    case 'ok':
      return `End-to-end encrypted. Key epoch ${e2ee.epoch}.`;
    case 'failing':
      return `Encryption is failing${e2ee.sendKeyFailure ? ` (${e2ee.sendKeyFailure.code})` : ''}: your audio and video are not sent.`;
    case 'removed':
      return 'You were removed from the meeting key.';
    case 'rekeying':
      return `The meeting key changed and the new one has not reached you: your media is not being sent (epoch ${e2ee.epoch}).`;
    default:
      return 'Waiting for the meeting key…';
  }
}

const HEADER_TEXT: Partial<Record<ShownE2eeState, string>> = {
  ok: 'End-to-end encrypted',
  failing: 'Encryption failing',
  removed: 'Removed from key',
  rekeying: 'Waiting for the new key — not sending',
};

/** Header items: E2EE state, epoch and the security code (stable test hooks). */
export function renderSecurityHeader(el: HTMLElement, e2ee: E2eeController): void {
  const shown = e2ee.shownState;
  const state = HEADER_TEXT[shown] ?? 'Waiting for key…';
  el.replaceChildren(
    h('span', { class: `e2ee-state ${shown}`, 'data-testid': 'e2ee-state', 'data-state': shown }, state),
    h('span', { class: 'epoch-label' }, 'epoch ', h('span', { 'data-testid': 'epoch' }, String(e2ee.epoch))),
    h('span', { class: 'code', 'data-testid': 'security-code', title: 'Security code: compare it aloud' }, e2ee.securityCode || '—'),
  );
}

/** Shown to a newcomer the leader has not admitted yet (and after a denial). */
export function createLobbyOverlay(meeting: Meeting, e2ee: E2eeController): HTMLElement {
  const el = h('div', { class: 'lobby', 'data-testid': 'lobby', role: 'dialog', 'aria-label': 'Lobby' });
  el.hidden = true;
  let shown = '';
  const render = (): void => {
    const state = e2ee.state;
    const visible = state === 'lobby' || state === 'denied';
    const sig = `${state}:${e2ee.decidedBy?.fingerprint ?? ''}`;
    el.hidden = !visible;
    if (!visible || sig === shown) return;
    shown = sig;
    el.dataset['state'] = state;
    el.replaceChildren(
      h('h2', {}, state === 'denied' ? 'You were not admitted' : 'Waiting to be let in…'),
      h(
        'p',
        {},
        state === 'denied'
          ? 'The meeting leader declined your request. You hold no key for this meeting and see nothing of it.'
          : 'This meeting is locked. The leader has been told you are here. You get the meeting key — and see and hear the others — once they admit you.',
      ),
      e2ee.decidedBy
        ? h('p', { class: 'hint' }, 'Leader fingerprint: ', h('span', { class: 'fingerprint' }, e2ee.decidedBy.fingerprint))
        : '',
      h('p', { class: 'hint' }, 'Your fingerprint: ', h('span', { class: 'fingerprint' }, fingerprint(e2ee.identity.publicKey))),
    );
  };
  meeting.subscribe(render);
  render();
  return el;
}
