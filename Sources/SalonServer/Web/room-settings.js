// The room settings dialog: the room's kind (private rooms are locked), its topic, invitations,
// its members with the actions the viewer may take on each (make or unmake moderator, mute,
// kick, ban for a while, with a reason), unbans, the moderation log, the room's webhooks
// (owners: made, listed, revoked; a new one's secret URL shown once) and deleting the room.
// Only what the viewer may do is shown: ranks as PROTOCOL.md §7 gives them (admin > room owner
// > room moderator > member), the server checking again.
import { $, el } from './dom.js';
import { state, isMe } from './state.js';
import { connection } from './server.js';
import { renderHeader } from './sidebar.js';
import { loadMembersSoon } from './members.js';
import { when } from './format.js';

const RANK = { member: 0, moderator: 1, owner: 2, admin: 3 };

/** The viewer's rank in a room (its role there, or admin). */
export function myRank(c) {
  if (state.me?.role === 'admin') return RANK.admin;
  return RANK[c?.myRole] ?? -1;
}

/** Whether the viewer moderates the room (sets its topic, mutes, kicks, bans). */
export function moderates(c) {
  return myRank(c) >= RANK.moderator;
}

let room = null;  // the conversation the dialog is about

export async function openRoomSettings(c) {
  room = c;
  $('room-dialog-title').textContent = `#${c.name}`;
  $('room-kind').textContent = c.info?.private ? '🔒 Private room: members invite others.' : 'Public room: anyone may join.';
  $('room-error').textContent = '';
  $('webhook-url').hidden = true;
  $('webhooks').replaceChildren();
  $('topic-input').value = c.info?.topic ?? '';
  showTools(c);
  if (!$('room-dialog').open) $('room-dialog').showModal();
  await loadMembers();  // the viewer's own role in it, as it is now
  showTools(c);
  if (moderates(c)) await loadLog();
  if (myRank(c) >= RANK.owner) await loadWebhooks();
}

/** Only the tools the viewer's rank allows. */
function showTools(c) {
  $('topic-form').hidden = !moderates(c);
  $('moderation-tools').hidden = !moderates(c);
  $('modlog-section').hidden = !moderates(c);
  $('delete-room').hidden = !(myRank(c) >= RANK.owner && c.name !== 'general');
  $('webhook-section').hidden = !(myRank(c) >= RANK.owner);
}

async function loadWebhooks() {
  const c = room;
  try {
    const result = await connection.request('list_webhooks', { room: c.name });
    if (room !== c) return;
    const items = result.webhooks.map((w) => {
      const li = el('li');
      li.dataset.webhook = w.id;
      li.append(el('span', 'name', w.name), el('span', 'role', `${w.created_by ?? 'an admin'}, ${when(w.created_at)}`));
      const revoke = el('button', 'ghost', 'Revoke');
      revoke.type = 'button';
      revoke.addEventListener('click', async () => {
        if (!window.confirm(`Revoke the webhook ${w.name}? Programs using its URL will be refused.`)) return;
        try {
          await connection.request('delete_webhook', { room: c.name, id: w.id });
          $('webhook-url').hidden = true;
          await loadWebhooks();
        } catch (error) {
          $('room-error').textContent = error.message;
        }
      });
      li.append(revoke);
      return li;
    });
    $('webhooks').replaceChildren(...(items.length ? items : [el('li', '', 'None yet.')]));
  } catch (error) {
    $('webhooks').replaceChildren(el('li', '', `Error: ${error.message}`));
  }
}

/** The new webhook's URL, told once: the server keeps only its hash. */
function showWebhookURL(webhook) {
  const url = new URL(webhook.url, location.origin).href;
  const text = el('span', '', url);
  const copy = el('button', 'ghost', 'Copy');
  copy.type = 'button';
  copy.addEventListener('click', () => navigator.clipboard?.writeText(url).then(() => { copy.textContent = 'Copied'; }, () => {}));
  $('webhook-url').replaceChildren(text, copy);
  $('webhook-url').hidden = false;
}

async function loadMembers() {
  const c = room;
  const list = $('room-members');
  try {
    const result = await connection.request('members', { room: c.name });
    if (room !== c) return;
    c.myRole = result.members.find((m) => isMe(m.username))?.role ?? null;
    result.members.sort((a, b) => (RANK[b.role] - RANK[a.role]) || a.username.localeCompare(b.username));
    list.replaceChildren(...result.members.map((m) => memberRow(c, m)));
  } catch (error) {
    list.replaceChildren(el('li', '', `Error: ${error.message}`));
  }
}

/** One member, with the actions the viewer may take on them: only on lower ranks. */
function memberRow(c, member) {
  const li = el('li');
  li.dataset.user = member.username;
  li.append(el('span', 'name', member.username));
  if (member.bot) li.append(el('span', 'bot-badge', 'BOT'));
  li.append(el('span', 'role', member.role));
  const mine = myRank(c);
  const theirs = RANK[member.role] ?? 0;
  if (isMe(member.username) || mine < RANK.moderator || theirs >= mine) return li;
  const act = (label, action, extra = () => ({})) => {
    const button = el('button', 'ghost', label);
    button.type = 'button';
    button.dataset.action = action;
    button.addEventListener('click', () => run(action, member.username, extra()));
    li.append(button);
  };
  if (mine >= RANK.owner && member.role !== 'owner') {
    act(member.role === 'moderator' ? 'Make member' : 'Make moderator', 'set_room_role', () => ({ role: member.role === 'moderator' ? 'member' : 'moderator' }));
  }
  act('Mute', 'mute', withDuration);
  act('Unmute', 'unmute');
  if (c.name !== 'general') {
    act('Kick', 'kick', () => ({ reason: reason() }));
    act('Ban', 'ban', withDuration);
  }
  return li;
}

function reason() {
  return $('mod-reason').value.trim() || undefined;
}

function withDuration() {
  const seconds = $('mod-duration').value;
  return { reason: reason(), duration_seconds: seconds ? Number(seconds) : undefined };
}

async function run(action, username, extra) {
  const c = room;
  $('room-error').textContent = '';
  try {
    await connection.request(action, { room: c.name, username, ...extra });
    if (room !== c) return;
    await Promise.all([loadMembers(), loadLog()]);
    loadMembersSoon();
  } catch (error) {
    $('room-error').textContent = error.message;
  }
}

async function loadLog() {
  const c = room;
  try {
    const result = await connection.request('moderation_log', { room: c.name, limit: 50 });
    if (room !== c) return;
    const items = result.entries.map((e) => {
      const words = [when(e.timestamp), e.by ?? '(time ran out)', e.action.replaceAll('_', ' '), e.username];
      if (e.role) words.push(`→ ${e.role}`);
      if (e.duration_seconds) words.push(`for ${spoken(e.duration_seconds)}`);
      return el('li', '', words.join(' ') + (e.reason ? `: ${e.reason}` : ''));
    });
    $('modlog').replaceChildren(...(items.length ? items : [el('li', '', 'Nothing yet.')]));
  } catch (error) {
    $('modlog').replaceChildren(el('li', '', `Error: ${error.message}`));
  }
}

/** 600 → "10 min", 86400 → "1 day". */
export function spoken(seconds) {
  for (const [size, one, many] of [[604800, 'week', 'weeks'], [86400, 'day', 'days'], [3600, 'hour', 'hours'], [60, 'min', 'min']]) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size} ${seconds / size === 1 ? one : many}`;
  }
  return `${seconds} s`;
}

/** Wires the dialog's forms; `onDeleted(c)` after the room is deleted. */
export function wireRoomSettings(onDeleted) {
  $('topic-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const result = await connection.request('set_topic', { room: room.name, topic: $('topic-input').value.trim() });
      room.info = { ...room.info, topic: result.room.topic };  // this connection gets the reply, not the push
      renderHeader();
      $('room-error').textContent = '';
      await loadLog();
    } catch (error) {
      $('room-error').textContent = error.message;
    }
  });
  $('invite-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = $('invite-input').value.trim();
    if (!username) return;
    try {
      await connection.request('invite', { room: room.name, username });
      $('invite-input').value = '';
      $('room-error').textContent = '';
      await loadMembers();
      loadMembersSoon();  // the side panel too (this connection gets no push of its own act)
    } catch (error) {
      $('room-error').textContent = error.message;
    }
  });
  $('unban-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = $('unban-input').value.trim();
    if (!username) return;
    await run('unban', username, {});
    $('unban-input').value = '';
  });
  $('webhook-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = $('webhook-name').value.trim();
    if (!name) return;
    const c = room;
    try {
      const result = await connection.request('create_webhook', { room: c.name, name });
      if (room !== c) return;
      $('webhook-name').value = '';
      $('room-error').textContent = '';
      showWebhookURL(result.webhook);
      await Promise.all([loadWebhooks(), loadMembers()]);
      loadMembersSoon();  // the bot joined the room
    } catch (error) {
      $('room-error').textContent = error.message;
    }
  });
  $('delete-room').addEventListener('click', async () => {
    const c = room;
    if (!window.confirm(`Delete #${c.name} and all its messages? This cannot be undone.`)) return;
    try {
      await connection.request('delete_room', { room: c.name });
      $('room-dialog').close();
      onDeleted(c);
    } catch (error) {
      $('room-error').textContent = error.message;
    }
  });
}
