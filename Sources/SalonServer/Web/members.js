// The Members panel of the conversation in view: who is in the room, online first, with their
// room role; it follows joins, leaves, presence and new authors. A click on someone else starts
// a private conversation (handled by the app, `data-user`).
import { $, el } from './dom.js';
import { state, isMe } from './state.js';
import { connection } from './server.js';

function memberItem(member) {
  const li = el('li');
  const button = el('button');
  button.type = 'button';
  button.dataset.user = member.username;
  if (!member.online) button.classList.add('away');
  const dot = el('span', 'dot');
  if (member.online) dot.classList.add('online');
  button.append(dot, el('span', 'name', member.username));
  if (member.bot) button.append(el('span', 'bot-badge', 'BOT'));
  if (member.role && member.role !== 'member') button.append(el('span', 'role', member.role));
  li.append(button);
  return li;
}

export async function loadMembers() {
  const c = state.conversations.get(state.current);
  const list = $('member-list');
  if (!c) return;
  if (c.kind === 'dm') {
    list.replaceChildren(memberItem({ username: state.me.username, online: true }), memberItem({ username: c.name, online: state.online.has(c.name.toLowerCase()) }));
    return;
  }
  try {
    const result = await connection.request('members', { room: c.name });
    if (state.current !== c.key) return;
    c.myRole = result.members.find((m) => isMe(m.username))?.role ?? null;
    result.members.sort((a, b) => (b.online - a.online) || a.username.localeCompare(b.username));
    list.replaceChildren(...result.members.map(memberItem));
  } catch {
    // Keep the last list.
  }
}

let timer = null;
/** The members of the room in view again, soon (several changes at once make one request). */
export function loadMembersSoon() {
  clearTimeout(timer);
  timer = setTimeout(loadMembers, 300);
}

function buttons() {
  return [...$('member-list').querySelectorAll('button')];
}

export function isListed(name) {
  return buttons().some((b) => b.dataset.user.toLowerCase() === name.toLowerCase());
}

export function showPresence(name, online) {
  for (const button of buttons()) {
    if (button.dataset.user.toLowerCase() !== name.toLowerCase()) continue;
    button.querySelector('.dot').classList.toggle('online', online);
    button.classList.toggle('away', !online);
  }
}

/** Disconnected: nobody is known to be online. */
export function showEveryoneAway() {
  for (const button of buttons()) {
    button.querySelector('.dot').classList.remove('online');
    button.classList.add('away');
  }
}
