// The small emoji picker of a message's "React" action.
import { el } from './dom.js';
import { QUICK_EMOJIS } from './reactions.js';

let picker = null;

export function closePicker() {
  picker?.remove();
  picker = null;
}

export function pickerContains(node) {
  return !!picker && picker.contains(node);
}

/** Opens the picker next to `anchor`; `onPick(emoji)` when one is chosen. */
export function openPicker(anchor, onPick) {
  closePicker();
  picker = el('div', 'picker');
  picker.setAttribute('role', 'menu');
  for (const emoji of QUICK_EMOJIS) {
    const b = el('button', '', emoji);
    b.type = 'button';
    b.title = `React with ${emoji}`;
    b.addEventListener('click', (event) => {
      event.stopPropagation();
      closePicker();
      onPick(emoji);
    });
    picker.append(b);
  }
  document.body.append(picker);
  const r = anchor.getBoundingClientRect();
  picker.style.top = `${Math.max(4, r.top - picker.offsetHeight - 4)}px`;
  picker.style.left = `${Math.max(4, Math.min(window.innerWidth - picker.offsetWidth - 4, r.right - picker.offsetWidth))}px`;
}
