// The state store's updates: one function per push (and per event of a catch-up by `sync`),
// each changing the state and returning what changed, for the views to redraw only that.
// No DOM here: what an update needs to know of the page comes in `context`.
import { state, conversation, keyOf, lastId, merge, holderOf, isMe } from './state.js';
import { withReaction } from './reactions.js';
import { mentions, when } from './format.js';

/**
 * A change, as the views read it (every field optional):
 * `key` the conversation changed; `added` a new message; `updated` the id of a message to
 * redraw; `notice` a notice's text (already kept in the conversation); `members` 'now' or
 * 'soon' (the member list of the room in view to reload); `author` someone who wrote in a room;
 * `presence` {username, online}; `typing`; `sidebar`; `title` (unread counts changed);
 * `alert` {title, body}; `leave` (the room in view is gone); `error` text to show; `info` a
 * line for the user (removed from a room).
 */
const UPDATES = {
  receive_message(data, { quiet, visible }) {
    const m = data.message;
    const c = conversation(keyOf(m));
    const change = { key: c.key, typing: stopTyping(c.key, m.from), author: c.kind === 'room' ? m.from : null, peers: c.kind === 'dm' };
    if (!merge(c, [m])) return change;
    const inView = c.key === state.current && visible;
    if (!inView) c.unread++;
    const mine = isMe(m.from);
    if (!quiet && !mine && !inView && (c.kind === 'dm' || mentions(m.text, state.me.username))) {
      change.alert = { title: c.kind === 'dm' ? m.from : `${m.from} in #${m.room}`, body: m.text };
    }
    return { ...change, added: m, mine, sidebar: true, title: true };
  },

  message_updated(data) {
    const c = holderOf(data.message.id);
    if (!c) return null;  // not loaded here: its conversation shows it as it is when opened
    merge(c, [data.message]);
    return { key: c.key, updated: data.message.id };
  },

  message_deleted(data) {
    const c = holderOf(data.id);
    const m = c?.byId.get(data.id);
    if (!m) return null;
    const tombstone = { id: m.id, room: m.room, to: m.to, from: m.from, timestamp: m.timestamp, deleted: true, text: '' };
    merge(c, [tombstone]);
    return { key: c.key, updated: data.id };
  },

  reaction(data) {
    const c = holderOf(data.id);
    const m = c?.byId.get(data.id);
    if (!m) return null;
    merge(c, [{ ...m, reactions: withReaction(m.reactions, data.emoji, data.username, data.added) }]);
    return { key: c.key, updated: data.id };
  },

  read(data) {
    // Read on another device: the same unread count here.
    const c = state.conversations.get(data.room ? `#${data.room}` : `@${data.with}`);
    if (!c || data.id < lastId(c)) return null;
    c.unread = 0;
    return { key: c.key, sidebar: true, title: true };
  },

  system(data, { isListed }) {
    if (!data.room) return data.event === 'unban' || data.event === 'role' ? { info: data.text } : null;
    const c = conversation(`#${data.room}`);
    if ((data.event === 'mute' || data.event === 'unmute') && data.username && isMe(data.username)) {
      c.info = { ...c.info, muted: data.event === 'mute' ? { reason: data.reason, until: data.until } : undefined };
      c.notices.push({ afterId: lastId(c), notice: data.text });
      return { key: c.key, notice: data.text, header: true };
    }
    const membership = data.event === 'join' || data.event === 'leave';
    // Someone the room in view already lists "joins" when a guest reconnects (as the new
    // person it is): not news.
    const known = data.event === 'join' && c.key === state.current && data.username && isListed(data.username);
    const change = { key: c.key, members: membership && c.key === state.current ? 'now' : undefined };
    if (known) return change;
    c.notices.push({ afterId: lastId(c), notice: data.text });
    return { ...change, notice: data.text };
  },

  typing(data) {
    const key = data.room ? `#${data.room}` : `@${data.username}`;
    if (!state.typing.has(key)) state.typing.set(key, new Map());
    state.typing.get(key).set(data.username.toLowerCase(), { name: data.username, until: Date.now() + 6000 });
    return { key, typing: true };
  },

  presence(data) {
    if (data.online) state.online.add(data.username.toLowerCase());
    else state.online.delete(data.username.toLowerCase());
    return { presence: { username: data.username, online: data.online }, sidebar: true };
  },

  room_updated(data) {
    const key = `#${data.room.name}`;
    const c = state.conversations.get(key);
    if (data.removed) {
      if (c) c.joined = false;
      return { key, sidebar: true, leave: state.current === key };
    }
    if (data.invited_by) {
      // Added to the room by someone: it is in the list now.
      const room = conversation(key, { joined: true });
      room.info = { ...room.info, ...data.room };
      return { key, sidebar: true, header: true, info: `${data.invited_by} added you to ${data.room.private ? '🔒 ' : '#'}${data.room.name}.` };
    }
    if (c) c.info = { ...c.info, ...data.room, unread: c.info?.unread, muted: c.info?.muted };
    return { key, sidebar: true, header: true };
  },

  kicked(data) {
    return removed(data, 'removed from');
  },

  banned(data) {
    return removed(data, 'banned from');
  },

  error(data) {
    return { error: data.message };
  },
};

/**
 * Applies one push or event. An event already processed (its `seq` at or below the last one:
 * a push the catch-up also brought) changes nothing. Returns the change, or null.
 */
export function applyPush(envelope, context) {
  if (!state.loggedIn) return null;
  const data = envelope.data || {};
  if (typeof data.seq === 'number') {
    if (state.seq !== null && data.seq <= state.seq) return null;
    state.seq = data.seq;
  }
  const update = Object.hasOwn(UPDATES, envelope.action) ? UPDATES[envelope.action] : null;
  return update ? update(data, context) : null;
}

/** Kicked or banned: out of the room (or, banned from the server, out altogether). */
function removed(data, verb) {
  const key = data.room ? `#${data.room}` : null;
  const c = key ? state.conversations.get(key) : null;
  if (c) c.joined = false;
  const where = data.room ? `#${data.room}` : 'this server';
  const until = data.until ? ` until ${when(data.until)}` : '';
  return {
    key: key ?? undefined, sidebar: true, leave: key !== null && state.current === key,
    info: `You were ${verb} ${where} by ${data.by}${until}${data.reason ? `: ${data.reason}` : ''}.`,
  };
}

function stopTyping(key, name) {
  return state.typing.get(key)?.delete(name.toLowerCase()) ?? false;
}
