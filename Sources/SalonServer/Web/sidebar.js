// The sidebar (rooms joined, private conversations, with unread badges and presence) and the
// conversation's header. A click on a conversation is handled by the app (`data-key`).
import { $, el } from './dom.js';
import { state } from './state.js';
import { when } from './format.js';

function navButton(c, label, presence) {
  const li = el('li');
  const button = el('button');
  button.type = 'button';
  button.dataset.key = c.key;
  if (c.key === state.current) button.setAttribute('aria-current', 'true');
  if (c.unread) button.classList.add('unread');
  if (presence) {
    const dot = el('span', 'dot');
    if (state.online.has(c.name.toLowerCase())) dot.classList.add('online');
    button.append(dot);
  }
  button.append(el('span', 'name', label));
  if (c.unread) button.append(el('span', 'badge', String(c.unread)));
  li.append(button);
  return li;
}

export function renderSidebar() {
  const all = [...state.conversations.values()];
  const rooms = all.filter((c) => c.kind === 'room' && c.joined).sort((a, b) => a.name.localeCompare(b.name));
  const dms = all.filter((c) => c.kind === 'dm').sort((a, b) => a.name.localeCompare(b.name));
  $('room-list').replaceChildren(...rooms.map((c) => navButton(c, `${c.info?.private ? '🔒' : '#'} ${c.name}`)));
  $('dm-list').replaceChildren(...dms.map((c) => navButton(c, c.name, true)));
}

export function renderHeader() {
  const c = state.conversations.get(state.current);
  if (!c) return;
  $('title').textContent = c.kind === 'room' ? `#${c.name}` : c.name;
  $('topic').textContent = c.kind === 'room' ? (c.info?.topic || '') : 'Private conversation';
  $('input').placeholder = c.kind === 'room' ? `Message #${c.name}` : `Message ${c.name}`;
  $('settings-button').hidden = c.kind !== 'room' || !c.joined;
  renderMuted(c);
}

let unmuteTimer = null;
/** A room where the user is muted: the composer says why and until when, and is off. */
function renderMuted(c) {
  const mute = c.kind === 'room' ? c.info?.muted : null;
  const until = mute?.until ? new Date(mute.until) : null;
  const active = !!mute && (!until || until > new Date());
  const notice = $('muted-notice');
  notice.hidden = !active;
  $('input').disabled = active;
  $('composer').querySelector('button[type=submit]').disabled = active;
  clearTimeout(unmuteTimer);
  if (!active) return;
  const time = until ? when(mute.until) : null;
  notice.textContent = `You are muted in #${c.name}${time ? ` until ${time}` : ''}${mute.by ? ` by ${mute.by}` : ''}${mute.reason ? `: ${mute.reason}` : ''}. You can still read.`;
  // Its end comes as an event too; this only keeps the page right if the clock is ahead.
  if (until) unmuteTimer = setTimeout(() => renderMuted(c), Math.min(until - new Date() + 500, 2 ** 31 - 1));
}

export function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = false;
}

export function hideBanner() {
  $('banner').hidden = true;
}
