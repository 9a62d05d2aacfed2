// Encrypted chat: messages are encrypted under the current epoch's chat key and
// signed by the sender; the server relays opaque blobs. Newcomers see no
// history because they cannot decrypt it — the panel says so.

import type { ChatEvent } from '../../../shared/e2ee/index.ts';
import type { E2eeController } from '../e2ee/controller.ts';
import { memberName } from '../e2ee/names.ts';
import { h } from './dom.ts';

export function createChatPanel(e2ee: E2eeController): HTMLElement {
  const verified = e2ee.verified;
  // Not a live region: the page has one, for alerts (a busy chat would drown them).
  const log = h('ol', { class: 'chat-log', 'data-testid': 'chat-log', 'aria-label': 'Chat messages' });
  const input = h('input', {
    class: 'chat-input',
    'data-testid': 'chat-input',
    maxlength: 4000,
    placeholder: 'Message everyone (Enter to send)',
    'aria-label': 'Chat message',
    'aria-describedby': 'chat-note',
  });
  const note = h('p', { class: 'hint', id: 'chat-note' });
  const panel = h(
    'aside',
    { class: 'panel chat', 'data-testid': 'chat-panel', 'aria-label': 'Chat' },
    h('h2', {}, 'Chat'),
    h(
      'p',
      { class: 'hint' },
      'End-to-end encrypted and signed by each sender. People who join later cannot read earlier messages, so you see only what was sent since you joined.',
    ),
    log,
    note,
    input,
  );
  panel.dataset['title'] = 'Chat';
  panel.dataset['testid'] = 'chat';
  panel.hidden = true;

  const add = (c: ChatEvent): void => {
    const member = e2ee.roster.find((m) => m.participantId === c.from);
    const status = c.own ? 'self' : member ? verified.status(member.identityKey, c.name) : 'unverified';
    const badge = c.own ? '' : status === 'verified' ? '✓ verified' : status === 'identity-changed' ? '⚠ identity changed' : 'signed';
    log.append(
      h(
        'li',
        { class: `msg${c.own ? ' own' : ''}`, 'data-from': c.from, 'data-verified': status },
        h(
          'div',
          { class: 'meta' },
          h('span', { class: 'sender' }, c.own ? 'You' : memberName(c)),
          h('span', { class: `sig ${status}`, title: `fingerprint ${c.fingerprint}` }, badge),
          h('time', {}, new Date(c.at).toLocaleTimeString()),
        ),
        h('div', { class: 'text' }, c.text),
      ),
    );
    log.scrollTop = log.scrollHeight;
    if (panel.hidden && !c.own) document.dispatchEvent(new CustomEvent('chat-unread'));
  };
  e2ee.onChat(add);
  // The server dropped messages (or we could not open them): say so where they would have been.
  e2ee.onChatGap((g) => {
    const what = `${g.count} message${g.count === 1 ? '' : 's'} from ${e2ee.nameOf(g.from)} did not arrive`;
    log.append(h('li', { class: 'gap warn-text', 'data-testid': 'chat-gap', 'data-from': g.from }, what));
    log.scrollTop = log.scrollHeight;
  });

  input.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.shiftKey) return;
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const r = e2ee.sendChat(text);
    if (r.ok) {
      input.value = '';
      note.textContent = '';
    } else note.textContent = r.message;
  });
  return panel;
}
