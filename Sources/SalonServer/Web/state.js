// What the page knows: who is signed in, the conversations with their messages, who is online
// and typing, and the last event processed. Only state.js and updates.js change it; views
// read it. No DOM here.

export const MAX_TEXT = 4000;

export const state = {
  me: null,              // { username, role }
  conversations: new Map(), // key ('#room' or '@peer') → conversation
  current: null,         // key of the conversation in view
  connected: false,
  loggedIn: false,
  online: new Set(),     // lower-cased names of people online now
  generation: 0,         // bumped at every (re)connection: work begun for an older one stops
  seq: null,             // the last event processed: a reconnection catches up from it (sync)
  typing: new Map(),     // conversation key → Map(lower-cased name → { name, until })
  typingSent: 0,         // when this user last said it was typing (at most every 3 s)
  buffered: null,        // pushes held while the state is being caught up (then applied in order)
  replyTo: null,         // the message the composer answers
  editing: null,         // the message the composer edits
};

export function conversation(key, init = {}) {
  let c = state.conversations.get(key);
  if (!c) {
    c = {
      key,
      kind: key.startsWith('#') ? 'room' : 'dm',
      name: key.slice(1),
      messages: [],      // sorted by id
      byId: new Map(),   // id → message
      notices: [],       // { afterId, notice }
      pending: [],       // messages sent but not acknowledged: { clientId, text, state, reason, timestamp, from }
      hasOlder: true,
      loaded: false,
      loadingOlder: false,
      unread: 0,
      info: null,
      joined: false,
      myRole: null,
      dividerBefore: null,
    };
    state.conversations.set(key, c);
  }
  Object.assign(c, init);
  return c;
}

export function isMe(name) {
  return !!state.me && name.toLowerCase() === state.me.username.toLowerCase();
}

/** The conversation a message belongs to: its room, or the other person. */
export function keyOf(message) {
  if (message.room) return `#${message.room}`;
  return `@${isMe(message.from) ? message.to : message.from}`;
}

/** Where a request goes: `room`, or the peer as `with` (history, mark_read) or `to` (send). */
export function target(c, peerField = 'with') {
  return c.kind === 'room' ? { room: c.name } : { [peerField]: c.name };
}

export function lastId(c) {
  return c.messages.length ? c.messages[c.messages.length - 1].id : 0;
}

/** The conversation holding message `id`, among those loaded. */
export function holderOf(id) {
  for (const c of state.conversations.values()) if (c.byId.has(id)) return c;
  return null;
}

/** Adds messages, keeping id order and never the same id twice (a message already here is
 *  replaced: it may have been edited). Returns how many were new. */
export function merge(c, messages) {
  let added = 0;
  let sorted = true;
  for (const m of messages) {
    const old = c.byId.get(m.id);
    c.byId.set(m.id, m);
    if (old) {
      const index = c.messages.indexOf(old);
      if (index >= 0) c.messages[index] = m;
      continue;
    }
    if (c.messages.length && c.messages[c.messages.length - 1].id > m.id) sorted = false;
    c.messages.push(m);
    added++;
  }
  if (!sorted) c.messages.sort((a, b) => a.id - b.id);
  return added;
}

export function totalUnread() {
  let n = 0;
  for (const c of state.conversations.values()) n += c.unread;
  return n;
}

/** The user's last message in conversation `c` (Arrow-Up edits it). */
export function lastOwnMessage(c) {
  return c?.messages.filter((m) => isMe(m.from) && !m.deleted).at(-1);
}

/** People typing in conversation `key` now (6 s after their last `typing`); older entries
 *  are forgotten. */
export function typingIn(key) {
  const now = Date.now();
  for (const [k, people] of state.typing) {
    for (const [name, t] of people) if (t.until <= now) people.delete(name);
    if (!people.size) state.typing.delete(k);
  }
  return [...(state.typing.get(key)?.values() ?? [])].map((t) => t.name);
}
