// The security panel: the meeting security code to compare aloud, and the
// participant list from the verified roster (never from the server's word)
// with each identity fingerprint and the current leader.

import type { E2eeController } from '../e2ee/controller.ts';
import type { Meeting } from '../meeting.ts';
import { h } from './dom.ts';
import { fingerprint } from '../../../shared/e2ee/index.ts';
import { VerifiedStore } from '../e2ee/verified-store.ts';

export function createSecurityPanel(meeting: Meeting, e2ee: E2eeController): HTMLElement {
  const panel = h('aside', { class: 'panel security', 'data-testid': 'security-panel', 'aria-label': 'Security' });
  panel.dataset['title'] = 'Security';
  panel.hidden = true;
  const verified = new VerifiedStore();
  const render = (): void => {
    const code = e2ee.securityCode;
    const self = meeting.join?.participantId;
    panel.replaceChildren(
      h('h2', {}, 'Security'),
      h(
        'p',
        { class: 'state' },
        e2ee.state === 'ok'
          ? `End-to-end encrypted. Key epoch ${e2ee.epoch}.`
          : e2ee.state === 'removed'
            ? 'You were removed from the meeting key.'
            : 'Waiting for the meeting key…',
      ),
      h('h3', {}, meeting.opts.mode === 'call' ? 'Call security code' : 'Meeting security code'),
      h('p', { class: 'code big' }, code || '—'),
      h(
        'p',
        { class: 'hint' },
        meeting.opts.mode === 'call'
          ? 'Read this code aloud with the other person. If it matches on both screens, nobody — not even the server — is listening in.'
          : 'Compare this code aloud with everyone. The same code on every screen means everyone holds the same key and sees the same participants. It changes whenever someone joins or leaves.',
      ),
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
            status === 'identity-changed' && !isSelf
              ? h('span', { class: 'warn-text', role: 'alert' }, `Identity changed: you verified someone named ${name} with a different key.`)
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
    const sig = JSON.stringify([e2ee.state, e2ee.epoch, e2ee.securityCode, e2ee.roster.map((m) => [m.participantId, m.isLeader, e2ee.nameOf(m.participantId)])]);
    if (sig === shown) return;
    shown = sig;
    render();
  });
  render();
  return panel;
}

/** Header items: E2EE state, epoch and the security code (stable test hooks). */
export function renderSecurityHeader(el: HTMLElement, e2ee: E2eeController): void {
  const state = e2ee.state === 'ok' ? 'End-to-end encrypted' : e2ee.state === 'removed' ? 'Removed from key' : 'Waiting for key…';
  el.replaceChildren(
    h('span', { class: `e2ee-state ${e2ee.state}`, 'data-testid': 'e2ee-state', 'data-state': e2ee.state }, state),
    h('span', { class: 'epoch-label' }, 'epoch ', h('span', { 'data-testid': 'epoch' }, String(e2ee.epoch))),
    h('span', { class: 'code', 'data-testid': 'security-code', title: 'Security code: compare it aloud' }, e2ee.securityCode || '—'),
  );
}
