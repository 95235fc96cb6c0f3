// What the user does with conversations: open one, scroll back, send, reply, edit, delete,
// react, and how a change of the state (updates.js) reaches the screen (`present`).
import { $ } from './dom.js';
import { state, conversation, keyOf, target, lastId, merge, totalUnread, isMe } from './state.js';
import { applyPush } from './updates.js';
import { connection } from './server.js';
import { Timeline } from './timeline.js';
import { renderSidebar, renderHeader } from './sidebar.js';
import { loadMembers, loadMembersSoon, isListed, showPresence } from './members.js';
import { setComposerMode, renderTyping } from './composer.js';
import { hasReacted } from './reactions.js';
import { Alerts } from './alerts.js';

const HISTORY_PAGE = 50;
const storage = window.localStorage;

export const alerts = new Alerts();

export const timeline = new Timeline($('messages'), () => ({
  me: state.me?.username ?? '',
  mayDelete: (c) => state.me?.role === 'admin' || c.myRole === 'owner' || c.myRole === 'moderator',
}));

export function current() {
  return state.conversations.get(state.current);
}

/** Applies a push (or an event of a catch-up) and shows what it changed. */
export function receive(envelope, { quiet = false } = {}) {
  const change = applyPush(envelope, { quiet, visible: !document.hidden, isListed });
  if (change) present(change);
}

/** Shows one change of the state: only the nodes it concerns are drawn again. */
function present(change) {
  const inView = change.key !== undefined && change.key === state.current;
  const c = inView ? current() : null;
  if (change.typing) renderTyping();
  if (change.peers) rememberPeers();
  if (change.author && inView && !isListed(change.author)) loadMembersSoon();
  if (change.added && c) {
    const bottom = timeline.atBottom();
    if (!timeline.append(c, change.added)) timeline.render(c, { keepPosition: !bottom, stick: bottom });
    if (!bottom && !change.mine) $('jump-button').hidden = false;
    if (!document.hidden) markRead();
  }
  if (change.updated !== undefined && c) timeline.update(c, change.updated);
  if (change.notice && c) timeline.appendNotice(change.notice);
  if (change.members === 'now') loadMembers();
  if (change.presence) {
    showPresence(change.presence.username, change.presence.online);
    // Someone new in the room in view (everyone is in #general): the list follows.
    if (change.presence.online && !isListed(change.presence.username)) loadMembersSoon();
  }
  if (change.alert) alerts.notify(change.alert.title, change.alert.body);
  if (change.header && inView) renderHeader();
  if (change.sidebar) renderSidebar();
  if (change.title) alerts.updateTitle(totalUnread());
  if (change.leave) open('#general');
  if (change.error) notice(`Error: ${change.error}`);
  if (change.info) notice(change.info);
}

export function rememberPeers() {
  const peers = [...state.conversations.values()].filter((c) => c.kind === 'dm').map((c) => c.name);
  storage.setItem(`salon.peers.${state.me.username.toLowerCase()}`, JSON.stringify(peers));
}

export function rememberedPeers(username) {
  try {
    return JSON.parse(storage.getItem(`salon.peers.${username.toLowerCase()}`) || '[]');
  } catch {
    return [];
  }
}

// MARK: Opening

export async function open(key) {
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
  if (state.current !== key) return;
  // The "new messages" line: before the first of the unread messages (others' messages).
  const others = c.messages.filter((m) => !isMe(m.from) && !m.deleted);
  c.dividerBefore = c.unread > 0 && others.length ? others[Math.max(0, others.length - c.unread)].id : null;
  c.unread = 0;
  $('jump-button').hidden = true;
  timeline.render(c, { stick: true });
  if (c.dividerBefore) $('messages').querySelector('.divider')?.scrollIntoView({ block: 'center' });
  renderSidebar();
  renderHeader();
  alerts.updateTitle(totalUnread());
  markRead();
  loadMembers();
  renderTyping();
  $('input').focus();
}

/** The page of history before the oldest message shown, when scrolled to the top. */
export async function loadOlder() {
  const c = current();
  if (!c || !c.loaded || !c.hasOlder || c.loadingOlder || !connection.isOpen || !c.messages.length) return;
  c.loadingOlder = true;
  try {
    const page = await connection.request('history', { ...target(c), before: c.messages[0].id, limit: HISTORY_PAGE });
    c.hasOlder = page.has_more;
    if (merge(c, page.messages) && c.key === state.current) timeline.render(c, { keepPosition: true });
  } catch {
    // Tried again at the next scroll.
  } finally {
    c.loadingOlder = false;
  }
}

let markTimer = null;
/** Tells the server (and so one's other devices) that the conversation in view is read. */
export function markRead() {
  clearTimeout(markTimer);
  markTimer = setTimeout(() => {
    const c = current();
    if (!c || !c.messages.length || !connection.isOpen || document.hidden) return;
    connection.request('mark_read', { ...target(c), id: lastId(c) }).catch(() => {});
  }, 300);
}

export async function joinRoom(name) {
  const room = name.replace(/^#/, '').toLowerCase();
  const c = conversation(`#${room}`);
  if (!c.joined) c.loaded = false;
  await open(c.key);
  if (!c.joined) state.conversations.delete(c.key);
  renderSidebar();
}

export function startDM(peer) {
  const existing = [...state.conversations.values()].find((c) => c.kind === 'dm' && c.name.toLowerCase() === peer.toLowerCase());
  const key = existing ? existing.key : `@${peer}`;
  conversation(key);
  rememberPeers();
  return open(key);
}

/** A line for the user in the conversation in view (errors, command output). */
export function notice(text) {
  const c = current();
  if (!c) return;
  c.notices.push({ afterId: lastId(c), notice: text });
  timeline.appendNotice(text);
}

/** Opens a message's conversation with the message in view, marked for a moment. */
export async function openAt(m) {
  $('search-dialog').close();
  const key = keyOf(m);
  const c = conversation(key);
  await open(key);
  if (!c.byId.has(m.id)) {
    try {
      const page = await connection.request('history', { ...target(c), before: m.id + 1, limit: HISTORY_PAGE });
      merge(c, page.messages);
      timeline.render(c, { keepPosition: true });
    } catch {
      // The conversation opened; the message may have gone.
    }
  }
  timeline.show(m.id);
}

// MARK: Sending and changing messages

export async function send(text, attachments = []) {
  const c = current();
  if (!c) return;
  const p = {
    clientId: `web-${crypto.randomUUID()}`, text, state: 'pending', reason: '',
    from: state.me.username, timestamp: new Date().toISOString(), reply_to: state.replyTo?.id,
    attachments: attachments.length ? attachments : undefined,
  };
  setComposerMode(null);
  // The others stop showing "typing" when the message arrives: the next one is news again.
  state.typingSent = 0;
  c.pending.push(p);
  c.dividerBefore = null;
  timeline.removeDivider();
  $('jump-button').hidden = true;
  timeline.renderPending(c, { stick: true });
  await deliver(c, p);
}

/** Sends one pending message (again, after a reconnection: the same client_msg_id makes the
 *  server return the original instead of storing a copy). */
export async function deliver(c, p) {
  if (!connection.isOpen) return;
  try {
    const files = p.attachments?.map((f) => f.id);
    const result = await connection.request('send_message', {
      ...target(c, 'to'), text: p.text, client_msg_id: p.clientId, reply_to: p.reply_to, attachments: files,
    });
    c.pending = c.pending.filter((x) => x !== p);
    const added = merge(c, [result.message]);
    if (c.key === state.current) {
      timeline.renderPending(c);
      if (added && !timeline.append(c, result.message)) timeline.render(c, { stick: true });
    }
  } catch (error) {
    // Lost, or a new connection not logged in yet: it stays pending and goes once back.
    if (error.code === 'disconnected' || error.code === 'auth_required') return;
    p.state = 'failed';
    p.reason = error.message;
    if (c.key === state.current) timeline.renderPending(c);
  }
  if (c.key === state.current) timeline.scrollToBottom();
  markRead();
}

export async function saveEdit(text) {
  const m = state.editing;
  setComposerMode(null);
  if (!m || text.trim() === m.text) return;
  try {
    const result = await connection.request('edit_message', { id: m.id, text });
    // The push goes to everyone else: the same update here.
    receive({ action: 'message_updated', data: { message: result.message } });
  } catch (error) {
    notice(`Could not edit: ${error.message}`);
  }
}

export async function deleteMessage(id) {
  if (!window.confirm('Delete this message? Everyone will see that it was deleted.')) return;
  try {
    await connection.request('delete_message', { id });
    receive({ action: 'message_deleted', data: { id } });
  } catch (error) {
    notice(`Could not delete: ${error.message}`);
  }
}

/** Adds one's reaction, or takes it back when one has it. */
export async function toggleReaction(id, emoji) {
  const m = current()?.byId.get(id);
  if (!m) return;
  const mine = m.reactions?.some((r) => r.emoji === emoji && hasReacted(r, state.me.username)) ?? false;
  try {
    await connection.request('react', { id, emoji, remove: mine || undefined });
    receive({ action: 'reaction', data: { id, emoji, username: state.me.username, added: !mine } });
  } catch (error) {
    notice(`Could not react: ${error.message}`);
  }
}
