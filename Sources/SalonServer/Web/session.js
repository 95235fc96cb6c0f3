// Signing in, and staying in: log in again after every reconnection, catch up by `sync` from
// the last event processed, hold the pushes that arrive meanwhile, then send what was typed
// while away.
import { $ } from './dom.js';
import { state, conversation, target, lastId, merge, totalUnread } from './state.js';
import { connection } from './server.js';
import { ServerError } from './connection.js';
import { receive, open, deliver, markRead, rememberPeers, rememberedPeers, timeline, alerts } from './conversations.js';
import { renderSidebar, showBanner, hideBanner } from './sidebar.js';
import { showEveryoneAway } from './members.js';
import { renderTyping } from './composer.js';
import { grantFileAccess, dropFileAccess } from './uploads.js';

const storage = window.localStorage;

export function startSession() {
  connection.onOpen = () => resume();
  connection.onPush = (envelope) => {
    // Pushes that come while this session logs in and catches up wait for it: applied before
    // the catch-up, a push would move the last seq past events the catch-up has not shown yet.
    if (state.buffered) state.buffered.push(envelope);
    else receive(envelope);
  };
  connection.onClose = (wait) => {
    state.connected = false;
    state.generation++;
    // Nobody is known to be online while we are not connected.
    state.online.clear();
    showEveryoneAway();
    state.typing.clear();
    renderTyping();
    if (state.loggedIn) showBanner(`Connection lost. Reconnecting in ${Math.ceil(wait / 1000)} s…`);
  };
  setMode('login');
  if (!storage.getItem('salon.token') && !storage.getItem('salon.guest')) showSignIn();
  connection.connect();
}

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
  state.buffered = [];
  try {
    const auth = await connection.request('login', token ? { token } : { username: guest });
    if (generation !== state.generation) return;
    await enter(auth, generation);
    if (generation !== state.generation) return;
    const held = state.buffered ?? [];
    state.buffered = null;
    for (const envelope of held) receive(envelope);
  } catch (error) {
    if (generation === state.generation) state.buffered = null;
    if (error.code === 'disconnected' || generation !== state.generation) return;
    // The token was revoked, or the guest name is taken now: sign in again.
    storage.removeItem('salon.token');
    storage.removeItem('salon.guest');
    state.loggedIn = false;
    showSignIn(error.code === 'username_taken' ? 'That guest name is in use now: choose another.'
      : error.code === 'banned' ? error.message : 'Please sign in again.');
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
  await grantFileAccess();
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
    for (const peer of rememberedPeers(auth.user.username)) conversation(`@${peer}`);
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

/** Back after a drop: the events missed (a guest, someone new at each login, rejoins and asks
 *  each conversation's history instead), then what was typed meanwhile. */
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
        for (const event of page.events) receive({ action: event.action, data: event.data }, { quiet: true });
        state.seq = Math.max(state.seq, page.seq);
        more = page.has_more;
      }
    } catch (error) {
      if (error.code === 'disconnected' || !current()) return;
      if (error.code === 'invalid_field') state.seq = auth.seq ?? 0;  // the server's log is older than ours
    }
  }
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
  const c = state.conversations.get(state.current);
  if (c) timeline.render(c, { stick: true });
  markRead();
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

let mode = 'login';

export function setMode(next) {
  mode = next;
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

export async function signIn(event) {
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
    const auth = mode === 'guest'
      ? await connection.request('login', { username })
      : await connection.request(mode === 'register' ? 'register' : 'login', { username, password });
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

export async function logout() {
  try {
    await connection.request('logout');
  } catch {
    // Closed either way.
  }
  await dropFileAccess();
  storage.removeItem('salon.token');
  storage.removeItem('salon.guest');
  state.conversations.clear();
  state.current = null;
  state.me = null;
  state.seq = null;
  connection.stop();
  showSignIn();
  connection.connect();
}
