// Keyboard shortcuts of the meeting. Pure: which action a key press asks for;
// the view performs it by pressing the matching control, so a shortcut does
// exactly what the button does.

export type ShortcutAction = 'mute' | 'camera' | 'share' | 'chat' | 'hand' | 'leave' | 'help';

export interface Shortcut {
  action: ShortcutAction;
  /** As `aria-keyshortcuts` spells it. */
  keys: string;
  label: string;
  /** The control it presses (data-testid); help opens the dialog instead. */
  control?: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { action: 'mute', keys: 'M', label: 'Mute or unmute the microphone', control: 'mic-toggle' },
  { action: 'camera', keys: 'V', label: 'Stop or start the camera', control: 'camera-toggle' },
  { action: 'share', keys: 'S', label: 'Share the screen or stop sharing', control: 'screen-toggle' },
  { action: 'chat', keys: 'C', label: 'Open or close the chat', control: 'chat-toggle' },
  { action: 'hand', keys: 'H', label: 'Raise or lower your hand', control: 'hand-toggle' },
  // Shift, so that a stray key press does not end the call.
  { action: 'leave', keys: 'Shift+L', label: 'Leave the meeting', control: 'leave' },
  { action: 'help', keys: 'Shift+?', label: 'Show these shortcuts' },
];

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  /** Focus is in a text field: keys are typing, not commands. */
  typing: boolean;
}

export function shortcutFor(e: KeyPress): Shortcut | undefined {
  if (e.typing || e.ctrlKey || e.metaKey || e.altKey) return undefined;
  if (e.key === '?') return SHORTCUTS.find((s) => s.action === 'help');
  const key = e.key.length === 1 ? e.key.toUpperCase() : e.key;
  return SHORTCUTS.find((s) => (s.keys === `Shift+${key}` ? e.shiftKey : s.keys === key && !e.shiftKey));
}

/** Whether keys typed at this element are text (inputs, text areas, editable content). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'submit'].includes(target.type);
}
