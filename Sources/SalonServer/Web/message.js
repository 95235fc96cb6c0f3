// One message as a DOM node: its head (author and time), text, "(edited)", reply quote,
// reactions, attachments, and the actions shown on hover or focus. The timeline decides where
// it goes and whether it is grouped under the previous one's head; re-rendering a message
// replaces exactly this node (found by `data-id`).
import { el } from './dom.js';
import { formatInline, formatText, mentions } from './format.js';
import { replyQuote } from './reply-quote.js';
import { reactionRow } from './reactions.js';
import { attachmentList } from './attachments.js';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/**
 * `message` is a message of the server, or one being sent (`state` 'pending' or 'failed',
 * `clientId`, no `id`). `grouped`: under the previous message's head (same author, within
 * five minutes). `original`: the message it replies to, when loaded. `mayDelete`: the user may
 * delete others' messages here.
 */
export function messageNode(message, { me, grouped = false, original, mayDelete = false }) {
  const date = new Date(message.timestamp);
  const node = el('div', 'msg');
  if (message.id !== undefined) node.dataset.id = message.id;
  if (message.clientId) node.dataset.clientId = message.clientId;
  if (!grouped) node.classList.add('first');
  // A time for every message, grouped ones too, on hover.
  node.title = date.toLocaleString();
  const isAction = message.text.startsWith('/me ') && !message.deleted;
  if (!grouped && !isAction) node.append(head(message, date));
  if (message.reply_to && !message.deleted) node.append(replyQuote(message.reply_to, original));
  node.append(body(message, isAction));
  if (message.attachments?.length && !message.deleted) node.append(attachmentList(message.attachments));
  if (message.reactions?.length && !message.deleted) node.append(reactionRow(message, me));
  const sent = message.id !== undefined && message.state === undefined;
  if (sent && !message.deleted) {
    const mine = message.from.toLowerCase() === me.toLowerCase();
    node.append(actionBar(message.id, mine, mayDelete));
    // Focusable, so that a tap (phones have no hover) or the keyboard shows its actions.
    node.tabIndex = 0;
  }
  if (message.deleted) node.classList.add('deleted');
  if (isAction) node.classList.add('action');
  if (message.state) node.classList.add(message.state);
  if (message.from.toLowerCase() !== me.toLowerCase() && !message.deleted && mentions(message.text, me)) node.classList.add('mention');
  return node;
}

function head(message, date) {
  const h = el('div', 'head');
  h.append(el('span', 'author', message.from));
  // A bot's or a webhook's message says so: it is a program speaking, not the person.
  if (message.from_bot) h.append(el('span', 'bot-badge', 'BOT'));
  const time = el('time', '', timeFormat.format(date));
  time.dateTime = date.toISOString();
  h.append(time);
  return h;
}

function body(message, isAction) {
  const text = el('div', 'text');
  if (message.deleted) {
    text.append(el('span', 'state', 'message deleted'));
    return text;
  }
  if (isAction) text.append(document.createTextNode(`* ${message.from} `), formatInline(message.text.slice(4)));
  else text.append(formatText(message.text));
  if (message.edited) {
    const edited = el('span', 'edited', '(edited)');
    edited.title = `edited ${new Date(message.edited).toLocaleString()}`;
    text.append(edited);
  }
  if (message.state === 'pending') text.append(el('span', 'state', 'sending…'));
  if (message.state === 'failed') text.append(el('span', 'state', `not sent: ${message.reason}`));
  return text;
}

/** Reply and react; for one's own messages edit and delete (delete also for moderators). */
function actionBar(id, mine, mayDelete) {
  const bar = el('div', 'actions');
  const button = (action, label, title) => {
    const b = el('button', '', label);
    b.type = 'button';
    b.dataset.action = action;
    b.dataset.id = id;
    b.title = title;
    b.setAttribute('aria-label', title);
    bar.append(b);
  };
  button('reply', '↩', 'Reply');
  button('react', '☺', 'React');
  if (mine) button('edit', '✎', 'Edit');
  if (mine || mayDelete) button('delete', '🗑', 'Delete');
  return bar;
}
