// The reaction buttons, and a reaction's transient bubble on a tile.

import { REACTIONS, type ReactionName } from '../e2ee/in-call-signals.ts';
import { h } from './dom.ts';

/** How long a reaction stays on the tile. */
const SHOWN_MS = 5000;

export function createReactionBar(send: (r: ReactionName) => void): HTMLElement {
  const bar = h('div', { class: 'reaction-bar', role: 'group', 'aria-label': 'Reactions' });
  for (const [name, emoji] of Object.entries(REACTIONS) as [ReactionName, string][]) {
    const label = `React: ${name.replace('-', ' ')}`;
    const b = h('button', { class: 'ctl reaction-btn', 'data-testid': `react-${name}`, 'aria-label': label, title: label }, emoji);
    b.addEventListener('click', () => send(name));
    bar.append(b);
  }
  return bar;
}

export function showReactionOn(tile: HTMLElement, reaction: ReactionName): void {
  const bubble = h(
    'div',
    { class: 'reaction', 'data-testid': 'reaction', 'data-reaction': reaction, 'aria-hidden': 'true' },
    REACTIONS[reaction],
  );
  tile.append(bubble);
  setTimeout(() => bubble.remove(), SHOWN_MS);
}
