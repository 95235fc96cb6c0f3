// Slash commands typed in the composer (`/help` lists them).
import { state, conversation } from './state.js';
import { connection } from './server.js';
import { open, joinRoom, startDM, send, notice, current } from './conversations.js';
import { renderSidebar } from './sidebar.js';
import { openRoomsDialog, normalizeRoomName } from './rooms-dialog.js';

const HELP = [
  '/join ROOM — join a room', '/create ROOM [TOPIC] — create a room', '/leave [ROOM] — leave a room',
  '/msg USER TEXT — private message', '/topic TEXT', '/invite USER', '/rooms — browse rooms', '/who — who is here', '/me ACTION', '/help',
];

const COMMANDS = {
  async '/join'(arg) {
    if (!arg) return notice('Usage: /join ROOM');
    await joinRoom(arg);
  },
  async '/create'(arg, rest) {
    if (!arg) return notice('Usage: /create ROOM [TOPIC]');
    const result = await connection.request('create_room', { name: normalizeRoomName(arg), topic: rest || undefined });
    conversation(`#${result.room.name}`, { info: result.room, joined: true, loaded: true, hasOlder: false });
    await open(`#${result.room.name}`);
  },
  async '/leave'(arg) {
    const c = current();
    const room = (arg || (c?.kind === 'room' ? c.name : '')).replace(/^#/, '').toLowerCase();
    if (!room) return notice('Usage: /leave ROOM');
    await connection.request('leave_room', { room });
    const left = state.conversations.get(`#${room}`);
    if (left) { left.joined = false; left.loaded = false; }
    if (state.current === `#${room}`) await open('#general');
    renderSidebar();
  },
  async '/msg'(arg, rest) {
    if (!arg || !rest) return notice('Usage: /msg USER TEXT');
    await startDM(arg);
    await send(rest);
  },
  '/rooms'() {
    openRoomsDialog(joinRoom);
  },
  async '/who'() {
    const c = current();
    if (c?.kind !== 'room') return notice('Members are listed in rooms.');
    const result = await connection.request('members', { room: c.name });
    notice(`Here: ${result.members.map((m) => m.username + (m.online ? '' : ' (away)')).join(', ')}`);
  },
  async '/topic'(arg, rest) {
    const c = current();
    if (c?.kind !== 'room') return notice('Usage: /topic TEXT (in a room)');
    await connection.request('set_topic', { room: c.name, topic: [arg, rest].filter(Boolean).join(' ') });
  },
  async '/invite'(arg) {
    const c = current();
    if (c?.kind !== 'room' || !arg) return notice('Usage: /invite USER (in a room)');
    await connection.request('invite', { room: c.name, username: arg });
    notice(`${arg} is now in #${c.name}.`);
  },
  '/help'() {
    HELP.forEach((h) => notice(h));
  },
};

export async function command(line) {
  const words = line.trim().split(/\s+/);
  const name = words[0].toLowerCase();
  const run = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : null;
  if (!run) return notice(`Unknown command ${words[0]}. /help lists them.`);
  try {
    await run(words[1], words.slice(2).join(' '));
  } catch (error) {
    notice(`Error: ${error.message}`);
  }
}
