// The keyboard shortcuts dialog (`?`), and the key handler that presses the
// meeting's controls.

import { h } from './dom.ts';
import { isTyping, SHORTCUTS, shortcutFor } from './shortcuts.ts';

export function createShortcutsHelp(): HTMLDialogElement {
  const close = h('button', { class: 'small-btn', 'data-testid': 'shortcuts-close' }, 'Close');
  const dialog = h(
    'dialog',
    { class: 'shortcuts-help', 'data-testid': 'shortcuts-help', 'aria-labelledby': 'shortcuts-title' },
    h('h2', { id: 'shortcuts-title' }, 'Keyboard shortcuts'),
    h('dl', {}, ...SHORTCUTS.flatMap((s) => [h('dt', {}, h('kbd', {}, s.keys.replace('Shift+?', '?'))), h('dd', {}, s.label)])),
    h('p', { class: 'hint' }, 'Shortcuts work when the focus is not in a text field.'),
    close,
  );
  close.addEventListener('click', () => dialog.close());
  return dialog;
}

/** Presses the control a shortcut names (found under `root`), or opens the help dialog. */
export function installShortcuts(root: HTMLElement, help: HTMLDialogElement): void {
  document.addEventListener('keydown', (ev) => {
    if (!root.isConnected || help.open) return;
    const s = shortcutFor({ ...pick(ev), typing: isTyping(ev.target) });
    if (!s) return;
    if (s.action === 'help') help.showModal();
    else {
      const control = root.querySelector<HTMLButtonElement>(`[data-testid="${s.control}"]`);
      if (!control) return;
      control.click();
    }
    ev.preventDefault();
  });
}

function pick(ev: KeyboardEvent): { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean } {
  return { key: ev.key, ctrlKey: ev.ctrlKey, metaKey: ev.metaKey, altKey: ev.altKey, shiftKey: ev.shiftKey };
}
