// The Rooms dialog: the public rooms to join (or open), and a form to create one.
import { $, el } from './dom.js';
import { state } from './state.js';
import { connection } from './server.js';

/** A room name as the server takes it: "Book Club" → "book-club". */
export function normalizeRoomName(raw) {
  return raw.trim().replace(/^#/, '').toLowerCase().replace(/\s+/g, '-').replace(/[^a-z0-9_-]/g, '').slice(0, 64);
}

/** Opens the dialog; `onJoin(name)` when a room is chosen. */
export async function openRoomsDialog(onJoin) {
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
      const joined = state.conversations.get(`#${room.name}`)?.joined;
      const button = el('button', joined ? 'ghost' : 'primary', joined ? 'Open' : 'Join');
      button.type = 'button';
      button.addEventListener('click', () => {
        dialog.close();
        onJoin(room.name);
      });
      li.append(info, button);
      return li;
    }));
  } catch (error) {
    list.replaceChildren(el('li', 'notice', `Error: ${error.message}`));
  }
}

/** The create form's room, created: `onCreated(room)`. */
export async function createFromForm(onCreated) {
  try {
    const result = await connection.request('create_room', {
      name: normalizeRoomName($('create-name').value), topic: $('create-topic').value.trim() || undefined, private: $('create-private').checked,
    });
    $('rooms-dialog').close();
    $('create-name').value = '';
    $('create-topic').value = '';
    await onCreated(result.room);
  } catch (error) {
    $('create-error').textContent = error.message;
  }
}
