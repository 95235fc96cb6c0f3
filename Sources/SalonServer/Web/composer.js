// The composer: the bar above it (answering or editing a message), the character counter, and
// "typing" sent to the others and shown from them.
import { $ } from './dom.js';
import { state, target, typingIn, MAX_TEXT } from './state.js';
import { connection } from './server.js';

/** Whether a line is a command (`/join …`); `//text` and `/me …` are messages. */
export function isCommand(text) {
  return text.startsWith('/') && !text.startsWith('//') && !text.startsWith('/me ');
}

/** The bar above the composer: answering a message, or editing one (null: neither). */
export function setComposerMode(mode, message) {
  state.replyTo = mode === 'reply' ? message : null;
  state.editing = mode === 'edit' ? message : null;
  $('composer-bar').hidden = !mode;
  if (mode === 'reply') {
    $('composer-bar-text').textContent = `Replying to ${message.from}: ${message.text}`;
  } else if (mode === 'edit') {
    $('composer-bar-text').textContent = 'Editing your message (Enter saves, Escape cancels)';
    $('input').value = message.text;
    updateCounter();
  }
  if (mode) $('input').focus();
}

/** Leaves reply or edit mode (an edit's text is taken out of the composer). */
export function cancelComposerMode() {
  if (state.editing) $('input').value = '';
  setComposerMode(null);
  updateCounter();
}

/** The count: shown near the limit; over it the message is not sent. */
export function updateCounter() {
  const length = [...$('input').value].length;
  const counter = $('counter');
  counter.textContent = length > MAX_TEXT - 500 ? `${MAX_TEXT - length}` : '';
  counter.classList.toggle('over', length > MAX_TEXT);
  counter.title = length > MAX_TEXT ? `A message has at most ${MAX_TEXT} characters` : '';
}

/** Tells the others this user is typing: at most every 3 s, not for commands. */
export function noteTyping(text) {
  const c = state.conversations.get(state.current);
  if (!c || !state.connected || !text.trim() || isCommand(text)) return;
  if (Date.now() - state.typingSent < 3000) return;
  state.typingSent = Date.now();
  connection.request('typing', target(c, 'to')).catch(() => {});
}

let typingTimer = null;
/** "X is typing…" under the conversation in view, until 6 s after their last `typing`. */
export function renderTyping() {
  const names = typingIn(state.current);
  $('typing').textContent = names.length === 0 ? ''
    : names.length === 1 ? `${names[0]} is typing…`
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
  clearTimeout(typingTimer);
  if (names.length) typingTimer = setTimeout(renderTyping, 1000);
}
