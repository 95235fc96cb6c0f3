// Salon's web client. One module owns the state; the connection delivers replies and pushes;
// render.js draws messages. No framework, no build step.
import { Connection, ServerError } from './connection.js';
import { el, highlight, mentions, renderItems, QUICK_EMOJIS } from './render.js';
import { Alerts } from './alerts.js';

const $ = (id) => document.getElementById(id);
const storage = window.localStorage;
const HISTORY_PAGE = 50;

const state = {
  me: null,              // { username, role }
  conversations: new Map(), // key ('#room' or '@peer') → conversation
  current: null,         // key of the conversation in view
  connected: false,
  loggedIn: false,
  mode: 'login',         // sign-in tab
  online: new Set(),     // lower-cased names of people online now
  generation: 0,         // bumped at every (re)connection: work begun for an older one stops
  seq: null,             // the last event processed: a reconnection catches up from it (sync)
  typing: new Map(),     // conversation key → Map(lower-cased name → { name, until })
  typingSent: 0,         // when this user last said it was typing (at most every 3 s)
  buffered: null,        // pushes held while the state is being caught up (then applied in order)
  replyTo: null,         // the message the composer answers
  editing: null,         // the message the composer edits
};

const MAX_TEXT = 4000;

const alerts = new Alerts();

// MARK: Conversations

function conversation(key, init = {}) {
  let c = state.conversations.get(key);
  if (!c) {
    c = {
      key,
      kind: key.startsWith('#') ? 'room' : 'dm',
      name: key.slice(1),
      messages: [],      // sorted by id
      ids: new Set(),
      notices: [],       // { afterId, notice }
      pending: [],       // messages sent but not acknowledged: { clientId, text, state, reason, timestamp, from }
      hasOlder: true,
      loaded: false,
      loadingOlder: false,
      unread: 0,
      info: null,
      joined: false,
    };
    state.conversations.set(key, c);
  }
  Object.assign(c, init);
  return c;
}

function keyOf(message) {
  if (message.room) return `#${message.room}`;
  const peer = message.from.toLowerCase() === state.me.username.toLowerCase() ? message.to : message.from;
  return `@${peer}`;
}

/** Where a request goes: `room`, or the peer as `with` (history, mark_read) or `to` (send). */
function target(c, peerField = 'with') {
  return c.kind === 'room' ? { room: c.name } : { [peerField]: c.name };
}

function lastId(c) {
  return c.messages.length ? c.messages[c.messages.length - 1].id : 0;
}

/** Adds messages, keeping id order and never the same id twice (a message already here is
 *  replaced: it may have been edited). Returns how many were new. */
function merge(c, messages) {
  let added = 0;
  for (const m of messages) {
    if (c.ids.has(m.id)) {
      const index = c.messages.findIndex((x) => x.id === m.id);
      if (index >= 0) c.messages[index] = m;
      continue;
    }
    c.ids.add(m.id);
    c.messages.push(m);
    added++;
  }
  if (added) c.messages.sort((a, b) => a.id - b.id);
  return added;
}

function rememberPeers() {
  const peers = [...state.conversations.values()].filter((c) => c.kind === 'dm').map((c) => c.name);
  storage.setItem(`salon.peers.${state.me.username.toLowerCase()}`, JSON.stringify(peers));
}

// MARK: Connection

const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const connection = new Connection(wsURL, {
  onOpen: () => resume(),
  onPush: (envelope) => push(envelope),
  onClose: (wait) => {
    state.connected = false;
    state.generation++;
    // Nobody is known to be online while we are not connected.
    state.online.clear();
    for (const button of $('member-list').querySelectorAll('button')) {
      button.querySelector('.dot').classList.remove('online');
      button.classList.add('away');
    }
    state.typing.clear();
    renderTyping();
    if (state.loggedIn) showBanner(`Connection lost. Reconnecting in ${Math.ceil(wait / 1000)} s…`);
  },
});

/** After (re)connecting: log in again with what we have, then catch up. */
async function resume() {
  state.connected = true;
  const generation = ++state.generation;
  const token = storage.getItem('salon.token');
  const guest = storage.getItem('salon.guest');
  if (!token && !guest) {
    showSignIn();
    return;
  }
  // Pushes that come while this session logs in and catches up wait for it: applied before
  // the catch-up, a push would move the last seq past events the catch-up has not shown yet.
  state.buffered = [];
  try {
    const auth = await connection.request('login', token ? { token } : { username: guest });
    if (generation !== state.generation) return;
    await enter(auth, generation);
    if (generation !== state.generation) return;
    const held = state.buffered ?? [];
    state.buffered = null;
    for (const envelope of held) push(envelope);
  } catch (error) {
    if (generation === state.generation) state.buffered = null;
    if (error.code === 'disconnected' || generation !== state.generation) return;
    // The token was revoked, or the guest name is taken now: sign in again.
    storage.removeItem('salon.token');
    storage.removeItem('salon.guest');
    state.loggedIn = false;
    showSignIn(error.code === 'username_taken' ? 'That guest name is in use now: choose another.' : 'Please sign in again.');
  }
}

async function enter(auth, generation = state.generation) {
  const again = state.loggedIn && state.me && state.me.username === auth.user.username;
  state.me = auth.user;
  state.loggedIn = true;
  hideBanner();
  $('signin').hidden = true;
  $('app').hidden = false;
  $('me').textContent = `${auth.user.username}${auth.user.role === 'guest' ? ' (guest)' : ''}`;
  for (const info of auth.rooms) {
    const c = conversation(`#${info.name}`, { info, joined: true });
    if (!again) c.unread = info.unread ?? 0;
  }
  // The private conversations follow the account: any device shows them, with what waits.
  for (const info of auth.conversations || []) {
    const c = conversation(`@${info.with}`);
    if (!again) c.unread = info.unread;
  }
  if (!again || state.seq === null) {
    state.seq = auth.seq ?? 0;
    const peers = JSON.parse(storage.getItem(`salon.peers.${auth.user.username.toLowerCase()}`) || '[]');
    for (const peer of peers) conversation(`@${peer}`);
    if (auth.conversations?.length) rememberPeers();
    await open(state.current && state.conversations.has(state.current) ? state.current : '#general');
  } else {
    await catchUp(auth, generation);
  }
  try {
    const users = await connection.request('list_users');
    state.online = new Set(users.users.filter((u) => u.online).map((u) => u.username.toLowerCase()));
  } catch {
    // Presence pushes will fill it in.
  }
  renderSidebar();
  alerts.updateTitle(totalUnread());
}

/** Back after a drop: rejoin what a guest lost, ask each conversation for what came after
 *  the last message it has, then send what was typed meanwhile. */
async function catchUp(auth, generation) {
  const serverRooms = new Set(auth.rooms.map((r) => r.name));
  // Stops as soon as the connection changed: the next one catches up from where we are.
  const current = () => generation === state.generation;
  if (auth.user.role !== 'guest') {
    // Exactly the events missed, everywhere, in order: new messages, edits, deletions,
    // reactions, read markers, joins and leaves of one's other devices.
    try {
      let more = true;
      while (more && current()) {
        const page = await connection.request('sync', { since: state.seq, limit: 1000 });
        if (!current()) return;
        for (const event of page.events) push({ action: event.action, data: event.data }, { quiet: true, caughtUp: true });
        state.seq = Math.max(state.seq, page.seq);
        more = page.has_more;
      }
    } catch (error) {
      if (error.code === 'disconnected' || !current()) return;
      if (error.code === 'invalid_field') state.seq = auth.seq ?? 0;  // the server's log is older than ours
    }
  }
  // A guest is someone new at each login: it joins its rooms again and asks their history.
  for (const c of auth.user.role === 'guest' ? state.conversations.values() : []) {
    if (!current()) return;
    try {
      if (c.kind === 'room' && c.joined && !serverRooms.has(c.name)) {
        await connection.request('join_room', { room: c.name });
      }
      if (!c.loaded) continue;
      let more = true;
      while (more && current()) {
        const page = await connection.request('history', { ...target(c), after: lastId(c), limit: 200 });
        const added = merge(c, page.messages);
        if (c.key !== state.current || document.hidden) c.unread += added;
        more = page.has_more && page.messages.length > 0;
      }
    } catch (error) {
      if (error.code === 'disconnected' || !current()) return;
    }
  }
  for (const c of state.conversations.values()) {
    for (const p of c.pending.filter((p) => p.state === 'pending')) {
      if (!current()) return;
      await deliver(c, p);
    }
  }
  if (state.current) renderConversation({ stick: true });
  markRead();
}

// MARK: Pushes

function push(envelope, { quiet = false, caughtUp = false } = {}) {
  if (state.buffered && !caughtUp) {
    state.buffered.push(envelope);
    return;
  }
  if (!state.loggedIn) return;
  const data = envelope.data || {};
  // Every event has a seq: one already processed (a push that the catch-up also held) is
  // skipped.
  if (typeof data.seq === 'number') {
    if (state.seq !== null && data.seq <= state.seq) return;
    state.seq = data.seq;
  }
  switch (envelope.action) {
    case 'receive_message': {
      const m = data.message;
      const c = conversation(keyOf(m));
      if (state.typing.get(c.key)?.delete(m.from.toLowerCase())) renderTyping();
      if (c.key === state.current && c.kind === 'room' && !memberListed(m.from)) loadMembersSoon();
      if (c.kind === 'dm') rememberPeers();
      if (!merge(c, [m])) return;
      const inView = c.key === state.current && !document.hidden;
      if (!inView) c.unread++;
      const mine = m.from.toLowerCase() === state.me.username.toLowerCase();
      if (!quiet && !mine && (c.kind === 'dm' || mentions(m.text, state.me.username)) && !inView) {
        alerts.notify(c.kind === 'dm' ? m.from : `${m.from} in #${m.room}`, m.text);
      }
      if (c.key === state.current) {
        const bottom = atBottom();
        renderConversation({ stick: bottom });
        if (!bottom && !mine) $('jump-button').hidden = false;
        if (inView) markRead();
      }
      renderSidebar();
      alerts.updateTitle(totalUnread());
      break;
    }
    case 'message_updated': {
      const c = conversation(keyOf(data.message));
      if (!c.ids.has(data.message.id)) return;
      merge(c, [data.message]);
      if (c.key === state.current) renderConversation({ keepPosition: true });
      break;
    }
    case 'message_deleted': {
      const c = state.conversations.get(data.room ? `#${data.room}` : null)
        ?? [...state.conversations.values()].find((x) => x.ids.has(data.id));
      const m = c?.messages.find((x) => x.id === data.id);
      if (!m) return;
      Object.assign(m, { deleted: true, text: '', reactions: undefined, edited: undefined, reply_to: undefined });
      if (c.key === state.current) renderConversation({ keepPosition: true });
      break;
    }
    case 'reaction': {
      const c = [...state.conversations.values()].find((x) => x.ids.has(data.id));
      const m = c?.messages.find((x) => x.id === data.id);
      if (!m) return;
      const reactions = m.reactions ? m.reactions.map((r) => ({ ...r, users: [...r.users] })) : [];
      let r = reactions.find((x) => x.emoji === data.emoji);
      const has = r?.users.some((u) => u.toLowerCase() === data.username.toLowerCase());
      if (data.added && !has) {
        if (!r) reactions.push(r = { emoji: data.emoji, count: 0, users: [] });
        r.count++;
        if (r.users.length < 50) r.users.push(data.username);
      } else if (!data.added && r && has) {
        r.count--;
        r.users = r.users.filter((u) => u.toLowerCase() !== data.username.toLowerCase());
      }
      m.reactions = reactions.filter((x) => x.count > 0);
      if (c.key === state.current) renderConversation({ keepPosition: true });
      break;
    }
    case 'read': {
      // Read on another device: the same unread count here.
      const c = state.conversations.get(data.room ? `#${data.room}` : `@${data.with}`);
      if (c && data.id >= lastId(c)) {
        c.unread = 0;
        renderSidebar();
        alerts.updateTitle(totalUnread());
      }
      break;
    }
    case 'system': {
      if (!data.room) return;
      const c = conversation(`#${data.room}`);
      // Someone the room in view already lists "joins" when a guest reconnects (as the new
      // person it is): not news.
      const known = data.event === 'join' && c.key === state.current && data.username && memberListed(data.username);
      if (!known) c.notices.push({ afterId: lastId(c), notice: data.text });
      if (c.key === state.current) {
        renderConversation({ stick: atBottom() });
        if (data.event === 'join' || data.event === 'leave') loadMembers();
      }
      break;
    }
    case 'typing': {
      const key = data.room ? `#${data.room}` : `@${data.username}`;
      if (!state.typing.has(key)) state.typing.set(key, new Map());
      state.typing.get(key).set(data.username.toLowerCase(), { name: data.username, until: Date.now() + 6000 });
      renderTyping();
      setTimeout(renderTyping, 6100);
      break;
    }
    case 'presence':
      if (data.online) state.online.add(data.username.toLowerCase());
      else state.online.delete(data.username.toLowerCase());
      renderSidebar();
      // Someone new in the room in view (everyone is in #general): the list follows.
      if (data.online && !memberListed(data.username)) loadMembersSoon();
      for (const button of $('member-list').querySelectorAll('button')) {
        if (button.dataset.user.toLowerCase() === data.username.toLowerCase()) {
          button.querySelector('.dot').classList.toggle('online', data.online);
          button.classList.toggle('away', !data.online);
        }
      }
      break;
    case 'room_updated': {
      const c = state.conversations.get(`#${data.room.name}`);
      if (data.removed) {
        if (c) c.joined = false;
        if (state.current === `#${data.room.name}`) open('#general');
      } else if (c) {
        c.info = { ...c.info, ...data.room, unread: c.info?.unread };
      }
      renderSidebar();
      break;
    }
    case 'error':
      notice(`Error: ${data.message}`);
      break;
  }
}

// MARK: Opening a conversation

async function open(key) {
  const c = conversation(key);
  state.current = key;
  $('app').classList.remove('show-sidebar');
  renderHeader();
  renderSidebar();
  if (!c.loaded && connection.isOpen) {
    try {
      if (c.kind === 'room' && !c.joined) {
        const joined = await connection.request('join_room', { room: c.name });
        c.info = joined.room;
        c.joined = true;
        merge(c, joined.messages);
        c.hasOlder = joined.messages.length >= HISTORY_PAGE;
      } else {
        const page = await connection.request('history', { ...target(c), limit: HISTORY_PAGE });
        merge(c, page.messages);
        c.hasOlder = page.has_more;
      }
      c.loaded = true;
    } catch (error) {
      notice(`Error: ${error.message}`);
    }
  }
  // The "new messages" line: before the first of the unread messages (others' messages).
  const me = state.me.username.toLowerCase();
  const others = c.messages.filter((m) => m.from.toLowerCase() !== me && !m.deleted);
  c.dividerBefore = c.unread > 0 && others.length ? others[Math.max(0, others.length - c.unread)].id : null;
  c.unread = 0;
  $('jump-button').hidden = true;
  renderConversation({ stick: true });
  if (c.dividerBefore) $('messages').querySelector('.divider')?.scrollIntoView({ block: 'center' });
  renderSidebar();
  renderHeader();
  alerts.updateTitle(totalUnread());
  markRead();
  loadMembers();
  renderTyping();
  $('input').focus();
}

async function loadOlder() {
  const c = state.conversations.get(state.current);
  if (!c || !c.loaded || !c.hasOlder || c.loadingOlder || !connection.isOpen || !c.messages.length) return;
  c.loadingOlder = true;
  try {
    const page = await connection.request('history', { ...target(c), before: c.messages[0].id, limit: HISTORY_PAGE });
    c.hasOlder = page.has_more;
    if (merge(c, page.messages) && c.key === state.current) renderConversation({ keepPosition: true });
  } catch (error) {
    // Tried again at the next scroll.
  } finally {
    c.loadingOlder = false;
  }
}

let markTimer = null;
function markRead() {
  clearTimeout(markTimer);
  markTimer = setTimeout(() => {
    const c = state.conversations.get(state.current);
    if (!c || !c.messages.length || !connection.isOpen || document.hidden) return;
    connection.request('mark_read', { ...target(c), id: lastId(c) }).catch(() => {});
  }, 300);
}

async function loadMembers() {
  const c = state.conversations.get(state.current);
  const list = $('member-list');
  if (!c) return;
  if (c.kind === 'dm') {
    list.replaceChildren(memberButton({ username: state.me.username, online: true }), memberButton({ username: c.name, online: true, role: '' }));
    return;
  }
  try {
    const result = await connection.request('members', { room: c.name });
    if (state.current !== c.key) return;
    c.myRole = result.members.find((m) => m.username.toLowerCase() === state.me.username.toLowerCase())?.role;
    result.members.sort((a, b) => (b.online - a.online) || a.username.localeCompare(b.username));
    list.replaceChildren(...result.members.map(memberButton));
  } catch {
    // Keep the last list.
  }
}

function memberListed(name) {
  return [...$('member-list').querySelectorAll('button')].some((b) => b.dataset.user.toLowerCase() === name.toLowerCase());
}

let membersTimer = null;
/** The members of the room in view again, soon (several changes at once make one request). */
function loadMembersSoon() {
  clearTimeout(membersTimer);
  membersTimer = setTimeout(loadMembers, 300);
}

/** "X is typing…" under the conversation in view, for 6 s after their last `typing`. */
function renderTyping() {
  const now = Date.now();
  for (const [key, people] of state.typing) {
    for (const [name, t] of people) if (t.until <= now) people.delete(name);
    if (!people.size) state.typing.delete(key);
  }
  const names = [...(state.typing.get(state.current)?.values() ?? [])].map((t) => t.name);
  $('typing').textContent = names.length === 0 ? ''
    : names.length === 1 ? `${names[0]} is typing…`
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
}

/** Tells the others this user is typing: at most every 3 s, not for commands. */
function noteTyping(text) {
  const c = state.conversations.get(state.current);
  if (!c || !state.connected || !text.trim() || (text.startsWith('/') && !text.startsWith('//') && !text.startsWith('/me '))) return;
  if (Date.now() - state.typingSent < 3000) return;
  state.typingSent = Date.now();
  connection.request('typing', target(c, 'to')).catch(() => {});
}

/** A room name as the server takes it: "Book Club" → "book-club". */
function normalizeRoomName(raw) {
  return raw.trim().replace(/^#/, '').toLowerCase().replace(/\s+/g, '-').replace(/[^a-z0-9_-]/g, '').slice(0, 64);
}

/** The composer's count: shown near the limit, and over it the message is not sent. */
function updateCounter() {
  const length = [...$('input').value].length;
  const counter = $('counter');
  counter.textContent = length > MAX_TEXT - 500 ? `${MAX_TEXT - length}` : '';
  counter.classList.toggle('over', length > MAX_TEXT);
  counter.title = length > MAX_TEXT ? `A message has at most ${MAX_TEXT} characters` : '';
}

function closePanels() {
  $('app').classList.remove('show-members', 'show-sidebar');
  closePicker();
}

function messageById(id) {
  const c = state.conversations.get(state.current);
  return c?.messages.find((m) => m.id === id);
}

/** The bar above the composer: answering a message, or editing one (null: neither). */
function setComposerMode(mode, message) {
  state.replyTo = mode === 'reply' ? message : null;
  state.editing = mode === 'edit' ? message : null;
  const bar = $('composer-bar');
  bar.hidden = !mode;
  if (mode === 'reply') {
    $('composer-bar-text').textContent = `Replying to ${message.from}: ${message.text}`;
  } else if (mode === 'edit') {
    $('composer-bar-text').textContent = 'Editing your message (Enter saves, Escape cancels)';
    $('input').value = message.text;
    updateCounter();
  }
  if (mode) $('input').focus();
}

let picker = null;
function closePicker() {
  picker?.remove();
  picker = null;
}

/** A small emoji picker next to `anchor`, for message `id`. */
function openPicker(anchor, id) {
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
      toggleReaction(id, emoji);
    });
    picker.append(b);
  }
  document.body.append(picker);
  const r = anchor.getBoundingClientRect();
  picker.style.top = `${Math.max(4, r.top - picker.offsetHeight - 4)}px`;
  picker.style.left = `${Math.max(4, Math.min(window.innerWidth - picker.offsetWidth - 4, r.right - picker.offsetWidth))}px`;
}

/** Adds one's reaction, or takes it back when one has it. */
async function toggleReaction(id, emoji) {
  const m = messageById(id);
  if (!m) return;
  const mine = m.reactions?.find((r) => r.emoji === emoji)?.users.some((u) => u.toLowerCase() === state.me.username.toLowerCase());
  try {
    await connection.request('react', { id, emoji, remove: mine || undefined });
    // The pushes go to everyone else: apply it here as they do.
    push({ action: 'reaction', data: { id, emoji, username: state.me.username, added: !mine } }, { caughtUp: true });
  } catch (error) {
    notice(`Could not react: ${error.message}`);
  }
}

async function saveEdit(text) {
  const m = state.editing;
  setComposerMode(null);
  if (!m || text.trim() === m.text) return;
  try {
    const result = await connection.request('edit_message', { id: m.id, text });
    const c = conversation(keyOf(result.message));
    merge(c, [result.message]);
    if (c.key === state.current) renderConversation({ keepPosition: true });
  } catch (error) {
    notice(`Could not edit: ${error.message}`);
  }
}

async function deleteMessage(id) {
  if (!window.confirm('Delete this message? Everyone will see that it was deleted.')) return;
  try {
    await connection.request('delete_message', { id });
    push({ action: 'message_deleted', data: { id, room: state.current.startsWith('#') ? state.current.slice(1) : undefined } }, { caughtUp: true });
  } catch (error) {
    notice(`Could not delete: ${error.message}`);
  }
}

/** Clicks on a message's actions, its reactions and its reply quote. */
function onMessagesClick(event) {
  const jump = event.target.closest('[data-jump]');
  if (jump) {
    showMessage(jump.dataset.jump);
    return;
  }
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const id = Number(button.dataset.id);
  const m = messageById(id);
  if (!m) return;
  switch (button.dataset.action) {
    case 'reply': setComposerMode('reply', m); break;
    case 'edit': setComposerMode('edit', m); break;
    case 'delete': deleteMessage(id); break;
    case 'react': event.stopPropagation(); openPicker(button, id); break;
    case 'toggle-reaction': toggleReaction(id, button.dataset.emoji); break;
  }
}

/** Search: results newest first, the words marked; a result opens its conversation there. */
async function runSearch(query) {
  const status = $('search-status');
  const list = $('search-results');
  list.replaceChildren();
  if (!query.trim()) return;
  status.textContent = 'Searching…';
  try {
    const result = await connection.request('search', { query, limit: 50 });
    status.textContent = result.messages.length === 0 ? 'Nothing found.'
      : `${result.messages.length}${result.has_more ? '+' : ''} found, newest first.`;
    for (const m of result.messages) {
      const li = el('li');
      const button = el('button');
      button.type = 'button';
      const where = m.room ? `#${m.room}` : `with ${keyOf(m).slice(1)}`;
      button.append(el('div', 'where', `${m.from} · ${where} · ${new Date(m.timestamp).toLocaleString()}`));
      const text = el('div', 'text');
      text.append(highlight(m.text, query));
      button.append(text);
      button.addEventListener('click', () => openAt(m));
      li.append(button);
      list.append(li);
    }
  } catch (error) {
    status.textContent = error.message;
  }
}

/** Opens a message's conversation with the message in view, marked for a moment. */
async function openAt(m) {
  $('search-dialog').close();
  const key = keyOf(m);
  const c = conversation(key);
  await open(key);
  if (!c.ids.has(m.id)) {
    try {
      const page = await connection.request('history', { ...target(c), before: m.id + 1, limit: HISTORY_PAGE });
      merge(c, page.messages);
      renderConversation({ keepPosition: true });
    } catch {
      // The conversation opened; the message may have gone.
    }
  }
  showMessage(m.id);
}

/** Scrolls a message of the conversation in view into the middle, and marks it a moment. */
function showMessage(id) {
  const node = $('messages').querySelector(`.msg[data-id="${id}"]`);
  if (!node) return;
  node.scrollIntoView({ block: 'center' });
  node.classList.remove('flash');
  void node.offsetWidth;  // restarts the animation
  node.classList.add('flash');
}

/** The user's last message in the conversation in view (Arrow-Up edits it). */
function lastOwnMessage() {
  const c = state.conversations.get(state.current);
  const me = state.me.username.toLowerCase();
  return c?.messages.filter((m) => m.from.toLowerCase() === me && !m.deleted).at(-1);
}

function memberButton(member) {
  const li = el('li');
  const button = el('button');
  button.type = 'button';
  button.dataset.user = member.username;
  if (!member.online) button.classList.add('away');
  const dot = el('span', 'dot');
  if (member.online) dot.classList.add('online');
  button.append(dot, el('span', 'name', member.username));
  if (member.role && member.role !== 'member') button.append(el('span', 'role', member.role));
  button.addEventListener('click', () => {
    if (member.username.toLowerCase() !== state.me.username.toLowerCase()) startDM(member.username);
  });
  li.append(button);
  return li;
}

function startDM(peer) {
  const existing = [...state.conversations.values()].find((c) => c.kind === 'dm' && c.name.toLowerCase() === peer.toLowerCase());
  const key = existing ? existing.key : `@${peer}`;
  conversation(key);
  rememberPeers();
  open(key);
}

// MARK: Sending

async function send(text) {
  const c = state.conversations.get(state.current);
  if (!c) return;
  const p = {
    clientId: `web-${crypto.randomUUID()}`, text, state: 'pending', reason: '',
    from: state.me.username, timestamp: new Date().toISOString(), reply_to: state.replyTo?.id,
  };
  setComposerMode(null);
  c.pending.push(p);
  c.dividerBefore = null;
  $('jump-button').hidden = true;
  renderConversation({ stick: true });
  await deliver(c, p);
}

/** Sends one pending message (again, after a reconnection: the same client_msg_id makes the
 *  server return the original instead of storing a copy). */
async function deliver(c, p) {
  if (!connection.isOpen) return;
  try {
    const result = await connection.request('send_message', { ...target(c, 'to'), text: p.text, client_msg_id: p.clientId, reply_to: p.reply_to });
    c.pending = c.pending.filter((x) => x !== p);
    merge(c, [result.message]);
  } catch (error) {
    // Lost, or a new connection not logged in yet: it stays pending and goes once back.
    if (error.code === 'disconnected' || error.code === 'auth_required') return;
    p.state = 'failed';
    p.reason = error.message;
  }
  if (c.key === state.current) renderConversation({ stick: true });
  markRead();
}

const HELP = [
  '/join ROOM — join a room', '/create ROOM [TOPIC] — create a room', '/leave [ROOM] — leave a room',
  '/msg USER TEXT — private message', '/rooms — browse rooms', '/who — who is here', '/me ACTION', '/help',
];

async function command(line) {
  const [name, arg, ...rest] = line.trim().split(/\s+/);
  const restText = line.trim().split(/\s+/).slice(2).join(' ');
  try {
    switch (name.toLowerCase()) {
      case '/join':
        if (!arg) return notice('Usage: /join ROOM');
        await joinRoom(arg);
        break;
      case '/create': {
        if (!arg) return notice('Usage: /create ROOM [TOPIC]');
        const result = await connection.request('create_room', { name: normalizeRoomName(arg), topic: rest.length ? restText : undefined });
        conversation(`#${result.room.name}`, { info: result.room, joined: true, loaded: true, hasOlder: false });
        await open(`#${result.room.name}`);
        break;
      }
      case '/leave': {
        const c = state.conversations.get(state.current);
        const room = (arg || (c?.kind === 'room' ? c.name : '')).replace(/^#/, '').toLowerCase();
        if (!room) return notice('Usage: /leave ROOM');
        await connection.request('leave_room', { room });
        const left = state.conversations.get(`#${room}`);
        if (left) { left.joined = false; left.loaded = false; }
        if (state.current === `#${room}`) await open('#general');
        renderSidebar();
        break;
      }
      case '/msg': {
        if (!arg || !rest.length) return notice('Usage: /msg USER TEXT');
        startDM(arg);
        await send(restText);
        break;
      }
      case '/rooms':
        openRoomsDialog();
        break;
      case '/who': {
        const c = state.conversations.get(state.current);
        if (c?.kind !== 'room') return notice('Members are listed in rooms.');
        const result = await connection.request('members', { room: c.name });
        notice(`Here: ${result.members.map((m) => m.username + (m.online ? '' : ' (away)')).join(', ')}`);
        break;
      }
      case '/topic':
        notice('This server cannot change topics yet.');
        break;
      case '/help':
        HELP.forEach((h) => notice(h));
        break;
      default:
        notice(`Unknown command ${name}. /help lists them.`);
    }
  } catch (error) {
    notice(`Error: ${error.message}`);
  }
}

async function joinRoom(name) {
  const room = name.replace(/^#/, '').toLowerCase();
  const c = conversation(`#${room}`);
  if (!c.joined) c.loaded = false;
  await open(c.key);
  if (!c.joined) state.conversations.delete(c.key);
  renderSidebar();
}

function notice(text) {
  const c = state.conversations.get(state.current);
  if (!c) return;
  c.notices.push({ afterId: lastId(c), notice: text });
  renderConversation({ stick: true });
}

// MARK: Rendering

function totalUnread() {
  let n = 0;
  for (const c of state.conversations.values()) n += c.unread;
  return n;
}

function atBottom() {
  const box = $('messages');
  return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
}

function renderConversation({ stick = false, keepPosition = false } = {}) {
  const c = state.conversations.get(state.current);
  const box = $('messages');
  if (!c) return;
  const fromBottom = box.scrollHeight - box.scrollTop;
  const items = [];
  let n = 0;
  // A notice came after the message that was the last one then (`afterId`): it goes before
  // every later message.
  for (const m of c.messages) {
    while (n < c.notices.length && c.notices[n].afterId < m.id) items.push(c.notices[n++]);
    if (m.id === c.dividerBefore) items.push({ divider: true });
    items.push(m);
  }
  items.push(...c.notices.slice(n));
  items.push(...c.pending);
  renderItems(box, items, state.me.username, {
    byId: new Map(c.messages.map((m) => [m.id, m])),
    mayDelete: state.me.role === 'admin' || c.myRole === 'owner' || c.myRole === 'moderator',
  });
  if (c.hasOlder && c.loaded) box.prepend(el('div', 'older', 'Scroll up for older messages'));
  if (keepPosition) box.scrollTop = box.scrollHeight - fromBottom;
  else if (stick) box.scrollTop = box.scrollHeight;
}

function renderHeader() {
  const c = state.conversations.get(state.current);
  if (!c) return;
  $('title').textContent = c.kind === 'room' ? `#${c.name}` : c.name;
  $('topic').textContent = c.kind === 'room' ? (c.info?.topic || '') : 'Private conversation';
  $('input').placeholder = c.kind === 'room' ? `Message #${c.name}` : `Message ${c.name}`;
}

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
  button.addEventListener('click', () => open(c.key));
  li.append(button);
  return li;
}

function renderSidebar() {
  const all = [...state.conversations.values()];
  const rooms = all.filter((c) => c.kind === 'room' && c.joined).sort((a, b) => a.name.localeCompare(b.name));
  const dms = all.filter((c) => c.kind === 'dm').sort((a, b) => a.name.localeCompare(b.name));
  $('room-list').replaceChildren(...rooms.map((c) => navButton(c, `# ${c.name}${c.info?.private ? ' (private)' : ''}`)));
  $('dm-list').replaceChildren(...dms.map((c) => navButton(c, c.name, true)));
}

function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

// MARK: Rooms dialog

async function openRoomsDialog() {
  const dialog = $('rooms-dialog');
  $('create-error').textContent = '';
  const list = $('public-rooms');
  list.replaceChildren(el('li', 'notice', 'Loading…'));
  if (!dialog.open) dialog.showModal();
  try {
    const result = await connection.request('list_rooms');
    list.replaceChildren(...result.rooms.map((room) => {
      const li = el('li');
      const info = el('div', 'info');
      info.append(el('strong', '', `#${room.name}`), el('small', '', `${room.members} members · ${room.online} online${room.topic ? ` · ${room.topic}` : ''}`));
      const c = state.conversations.get(`#${room.name}`);
      const button = el('button', c?.joined ? 'ghost' : 'primary', c?.joined ? 'Open' : 'Join');
      button.type = 'button';
      button.addEventListener('click', async () => {
        dialog.close();
        await joinRoom(room.name);
      });
      li.append(info, button);
      return li;
    }));
  } catch (error) {
    list.replaceChildren(el('li', 'notice', `Error: ${error.message}`));
  }
}

// MARK: Sign-in

const FIELD_OF = {
  username_taken: 'username', invalid_username: 'username', password_required: 'username', guests_disabled: 'username',
  weak_password: 'password', auth_failed: 'password',
};

const SENTENCES = {
  username_taken: 'This name is taken. Choose another.',
  invalid_username: 'Use 1 to 32 letters, digits, “_”, “-” or “.”.',
  password_required: 'This name belongs to an account: log in with its password.',
  guests_disabled: 'This server does not accept guests. Create an account.',
  weak_password: 'The password needs at least 8 characters.',
  auth_failed: 'Wrong username or password.',
};

function setMode(mode) {
  state.mode = mode;
  for (const tab of document.querySelectorAll('.tabs button')) tab.setAttribute('aria-selected', String(tab.dataset.tab === mode));
  $('auth-password-label').hidden = mode === 'guest';
  $('auth-password').autocomplete = mode === 'register' ? 'new-password' : 'current-password';
  $('auth-submit').textContent = { login: 'Log in', register: 'Create account', guest: 'Join as guest' }[mode];
  clearAuthErrors();
}

function clearAuthErrors() {
  for (const id of ['auth-username-error', 'auth-password-error', 'auth-error']) $(id).textContent = '';
}

function showSignIn(message = '') {
  state.loggedIn = false;
  $('app').hidden = true;
  $('signin').hidden = false;
  hideBanner();
  $('auth-error').textContent = message;
  $('auth-username').focus();
}

async function signIn(event) {
  event.preventDefault();
  clearAuthErrors();
  const username = $('auth-username').value.trim();
  const password = $('auth-password').value;
  if (!username) {
    $('auth-username-error').textContent = 'Choose a name.';
    return;
  }
  const submit = $('auth-submit');
  submit.disabled = true;
  try {
    if (!connection.isOpen) throw new ServerError('disconnected', 'The server cannot be reached right now. Try again in a moment.');
    const auth = state.mode === 'guest'
      ? await connection.request('login', { username })
      : await connection.request(state.mode === 'register' ? 'register' : 'login', { username, password });
    if (auth.token) {
      storage.setItem('salon.token', auth.token);
      storage.removeItem('salon.guest');
    } else {
      storage.setItem('salon.guest', auth.user.username);
      storage.removeItem('salon.token');
    }
    $('auth-password').value = '';
    state.conversations.clear();
    state.current = null;
    await enter(auth);
  } catch (error) {
    const field = FIELD_OF[error.code];
    const text = SENTENCES[error.code] || error.message;
    $(field ? `auth-${field}-error` : 'auth-error').textContent = text;
  } finally {
    submit.disabled = false;
  }
}

async function logout() {
  try {
    await connection.request('logout');
  } catch {
    // Closed either way.
  }
  storage.removeItem('salon.token');
  storage.removeItem('salon.guest');
  state.conversations.clear();
  state.current = null;
  state.me = null;
  connection.stop();
  showSignIn();
  connection.connect();
}

// MARK: Wiring

function wire() {
  for (const tab of document.querySelectorAll('.tabs button')) tab.addEventListener('click', () => setMode(tab.dataset.tab));
  $('auth-form').addEventListener('submit', signIn);
  $('logout-button').addEventListener('click', logout);
  $('browse-button').addEventListener('click', openRoomsDialog);
  $('menu-button').addEventListener('click', () => $('app').classList.toggle('show-sidebar'));
  $('members-button').addEventListener('click', (event) => {
    event.stopPropagation();
    const app = $('app');
    if (window.matchMedia('(max-width: 760px)').matches) app.classList.toggle('show-members');
    else app.classList.toggle('hide-members');
  });
  $('members-close').addEventListener('click', closePanels);
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    closePanels();
    if (state.editing) $('input').value = '';
    setComposerMode(null);
  });
  $('messages').addEventListener('click', onMessagesClick);
  $('search-button').addEventListener('click', () => {
    $('search-dialog').showModal();
    $('search-input').focus();
  });
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    runSearch($('search-input').value);
  });
  $('composer-bar-cancel').addEventListener('click', () => {
    if (state.editing) $('input').value = '';
    setComposerMode(null);
  });
  document.addEventListener('click', (event) => {
    if (picker && !picker.contains(event.target)) closePicker();
  });
  // On a phone the panels cover the page: a tap outside closes them.
  document.querySelector('.conversation').addEventListener('click', (event) => {
    if (event.target.closest('#members-button, #menu-button')) return;
    closePanels();
  });
  $('messages').addEventListener('scroll', () => {
    if ($('messages').scrollTop < 80) loadOlder();
    if (atBottom()) $('jump-button').hidden = true;
  });
  $('jump-button').addEventListener('click', () => {
    const box = $('messages');
    box.scrollTop = box.scrollHeight;
    $('jump-button').hidden = true;
  });
  const input = $('input');
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowUp' && input.value === '' && !state.editing) {
      const mine = lastOwnMessage();
      if (mine) {
        event.preventDefault();
        setComposerMode('edit', mine);
      }
      return;
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('composer').requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight}px`;
    updateCounter();
    noteTyping(input.value);
  });
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    if ([...text.trim()].length > MAX_TEXT) {
      notice(`A message has at most ${MAX_TEXT} characters: this one has ${[...text.trim()].length}. Shorten it, or send it in parts.`);
      return;
    }
    input.value = '';
    updateCounter();
    if (state.editing) {
      saveEdit(text.trim());
      return;
    }
    input.style.height = 'auto';
    if (text.startsWith('/') && !text.startsWith('//') && !text.startsWith('/me ')) command(text);
    else send(text.startsWith('//') ? text.slice(1) : text);
  });
  $('create-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const result = await connection.request('create_room', {
        name: normalizeRoomName($('create-name').value), topic: $('create-topic').value.trim() || undefined, private: $('create-private').checked,
      });
      $('rooms-dialog').close();
      $('create-name').value = '';
      $('create-topic').value = '';
      conversation(`#${result.room.name}`, { info: result.room, joined: true, loaded: true, hasOlder: false });
      await open(`#${result.room.name}`);
    } catch (error) {
      $('create-error').textContent = error.message;
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    const c = state.conversations.get(state.current);
    if (c) {
      c.unread = 0;
      renderSidebar();
      alerts.updateTitle(totalUnread());
      markRead();
    }
  });
  alerts.wire($('notify-button'));
}

wire();
setMode('login');
if (!storage.getItem('salon.token') && !storage.getItem('salon.guest')) showSignIn();
connection.connect();
