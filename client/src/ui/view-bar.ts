// The bar under the grid: grid or speaker view, tiles per page, the pager,
// and the keyboard shortcuts dialog.

import { h } from './dom.ts';
import { PER_PAGE_CHOICES, type Layout, type LayoutMode } from './layout.ts';
import { createShortcutsHelp } from './shortcuts-help.ts';

export interface ViewBarActions {
  toggleMode: () => void;
  /** 0: by window size. */
  setPerPage: (n: number) => void;
  turnPage: (by: number) => void;
}

export interface ViewBar {
  el: HTMLElement;
  help: HTMLDialogElement;
  show: (mode: LayoutMode, layout: Layout) => void;
}

export function createViewBar(actions: ViewBarActions): ViewBar {
  const prev = h('button', { class: 'small-btn', 'data-testid': 'page-prev', 'aria-label': 'Previous page' }, '‹');
  const next = h('button', { class: 'small-btn', 'data-testid': 'page-next', 'aria-label': 'Next page' }, '›');
  const info = h('span', { class: 'page-info', 'data-testid': 'page-info' });
  const pager = h('span', { class: 'pager' }, prev, info, next);
  prev.addEventListener('click', () => actions.turnPage(-1));
  next.addEventListener('click', () => actions.turnPage(1));
  const modeToggle = h('button', { class: 'small-btn', 'data-testid': 'layout-toggle' });
  modeToggle.addEventListener('click', () => actions.toggleMode());
  const perPage = h(
    'select',
    { class: 'per-page', 'data-testid': 'tiles-per-page', 'aria-label': 'Tiles per page' },
    h('option', { value: '0' }, 'Auto'),
    ...PER_PAGE_CHOICES.map((n) => h('option', { value: String(n) }, `${n} per page`)),
  );
  perPage.addEventListener('change', () => actions.setPerPage(Number(perPage.value)));
  const help = createShortcutsHelp();
  const helpButton = h(
    'button',
    { class: 'small-btn', 'data-testid': 'shortcuts-toggle', 'aria-keyshortcuts': 'Shift+?' },
    'Shortcuts (?)',
  );
  helpButton.addEventListener('click', () => help.showModal());
  const el = h('div', { class: 'view-bar', role: 'group', 'aria-label': 'Layout' }, modeToggle, perPage, pager, helpButton, help);
  return {
    el,
    help,
    show: (mode, layout) => {
      modeToggle.textContent = mode === 'grid' ? 'Speaker view' : 'Grid view';
      modeToggle.setAttribute('aria-pressed', String(mode === 'speaker'));
      info.textContent = `Page ${layout.page + 1} of ${layout.pages}`;
      prev.disabled = layout.page === 0;
      next.disabled = layout.page >= layout.pages - 1;
      pager.hidden = layout.pages <= 1;
    },
  };
}
