// Salon's web client: plain JavaScript modules, no framework, no build step.
//   state.js     what the page knows          updates.js  one update per push → a change
//   session.js   sign-in, reconnection, sync  conversations.js  what the user does; changes shown
//   timeline.js  the message list            message.js (+ reply-quote, reactions, attachments)
//   sidebar.js, members.js, composer.js, commands.js, search.js, rooms-dialog.js, picker.js,
//   room-settings.js (topic, invitations, moderation, the moderation log)
// This module wires the page's controls to them and starts the session.
import { $ } from './dom.js';
import { state, conversation, lastOwnMessage, totalUnread, isMe, MAX_TEXT } from './state.js';
import { startSession, setMode, signIn, logout } from './session.js';
import {
  alerts, current, open, loadOlder, markRead, joinRoom, startDM, notice, openAt, send, saveEdit,
  deleteMessage, toggleReaction, timeline,
} from './conversations.js';
import { renderSidebar } from './sidebar.js';
import { setComposerMode, cancelComposerMode, updateCounter, noteTyping, isCommand } from './composer.js';
import { wireUploads, readyAttachments, clearUploads } from './uploads.js';
import { wireImageViewer } from './attachments.js';
import { command } from './commands.js';
import { runSearch } from './search.js';
import { openRoomsDialog, createFromForm } from './rooms-dialog.js';
import { openPicker, closePicker, pickerContains } from './picker.js';
import { openRoomSettings, wireRoomSettings } from './room-settings.js';

function closePanels() {
  $('app').classList.remove('show-members', 'show-sidebar');
  closePicker();
}

/** Clicks in the message list: a reply's quote, a message's actions, its reactions. */
function onMessagesClick(event) {
  const jump = event.target.closest('[data-jump]');
  if (jump) {
    timeline.show(Number(jump.dataset.jump));
    return;
  }
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const id = Number(button.dataset.id);
  const m = current()?.byId.get(id);
  if (!m) return;
  switch (button.dataset.action) {
    case 'reply': setComposerMode('reply', m); break;
    case 'edit': setComposerMode('edit', m); break;
    case 'delete': deleteMessage(id); break;
    case 'react': event.stopPropagation(); openPicker(button, (emoji) => toggleReaction(id, emoji)); break;
    case 'toggle-reaction': toggleReaction(id, button.dataset.emoji); break;
  }
}

function onSubmit(event) {
  event.preventDefault();
  const input = $('input');
  const text = input.value;
  const files = readyAttachments();
  if (files === null) {
    notice('Wait until the files have uploaded, then send.');
    return;
  }
  if (!text.trim() && !files.length) return;
  const length = [...text.trim()].length;
  if (length > MAX_TEXT) {
    notice(`A message has at most ${MAX_TEXT} characters: this one has ${length}. Shorten it, or send it in parts.`);
    return;
  }
  input.value = '';
  updateCounter();
  if (state.editing) {
    saveEdit(text.trim());
    return;
  }
  input.style.height = 'auto';
  if (isCommand(text)) {
    command(text);
    return;
  }
  clearUploads();
  send(text.startsWith('//') ? text.slice(1) : text, files);
}

function wireComposer() {
  const input = $('input');
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowUp' && input.value === '' && !state.editing) {
      const mine = lastOwnMessage(current());
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
  $('composer').addEventListener('submit', onSubmit);
  wireUploads();
  wireImageViewer();
  $('composer-bar-cancel').addEventListener('click', cancelComposerMode);
}

function wireNavigation() {
  for (const list of [$('room-list'), $('dm-list')]) {
    list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-key]');
      if (button) open(button.dataset.key);
    });
  }
  $('member-list').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-user]');
    if (button && !isMe(button.dataset.user)) startDM(button.dataset.user);
  });
  $('menu-button').addEventListener('click', () => $('app').classList.toggle('show-sidebar'));
  $('members-button').addEventListener('click', (event) => {
    event.stopPropagation();
    const app = $('app');
    if (window.matchMedia('(max-width: 760px)').matches) app.classList.toggle('show-members');
    else app.classList.toggle('hide-members');
  });
  $('members-close').addEventListener('click', closePanels);
  // On a phone the panels cover the page: a tap outside closes them.
  document.querySelector('.conversation').addEventListener('click', (event) => {
    if (event.target.closest('#members-button, #menu-button')) return;
    closePanels();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    closePanels();
    cancelComposerMode();
  });
  document.addEventListener('click', (event) => {
    if (!pickerContains(event.target)) closePicker();
  });
}

function wireMessages() {
  const box = $('messages');
  box.addEventListener('click', onMessagesClick);
  box.addEventListener('scroll', () => {
    if (box.scrollTop < 80) loadOlder();
    if (timeline.atBottom()) $('jump-button').hidden = true;
  });
  $('jump-button').addEventListener('click', () => {
    timeline.scrollToBottom();
    $('jump-button').hidden = true;
  });
}

function wireDialogs() {
  $('browse-button').addEventListener('click', () => openRoomsDialog(joinRoom));
  $('create-form').addEventListener('submit', (event) => {
    event.preventDefault();
    createFromForm(async (room) => {
      conversation(`#${room.name}`, { info: room, joined: true, loaded: true, hasOlder: false });
      await open(`#${room.name}`);
    });
  });
  $('settings-button').addEventListener('click', () => {
    const c = current();
    if (c?.kind === 'room') openRoomSettings(c);
  });
  wireRoomSettings((c) => {
    c.joined = false;
    renderSidebar();
    open('#general');
  });
  $('search-button').addEventListener('click', () => {
    $('search-dialog').showModal();
    $('search-input').focus();
  });
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    runSearch($('search-input').value, openAt);
  });
}

function wireSignIn() {
  for (const tab of document.querySelectorAll('.tabs button')) tab.addEventListener('click', () => setMode(tab.dataset.tab));
  $('auth-form').addEventListener('submit', signIn);
  $('logout-button').addEventListener('click', logout);
}

function wire() {
  wireSignIn();
  wireNavigation();
  wireMessages();
  wireComposer();
  wireDialogs();
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    const c = current();
    if (!c) return;
    c.unread = 0;
    renderSidebar();
    alerts.updateTitle(totalUnread());
    markRead();
  });
  alerts.wire($('notify-button'));
}

wire();
startSession();
