// Turning messages into DOM nodes. Text is always inserted as text, never as HTML; links are
// made clickable by building <a> elements whose href is checked to be http(s).

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/g;

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Text with its links made clickable, safely. */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    if (match.index > last) fragment.append(document.createTextNode(text.slice(last, match.index)));
    let url;
    try {
      url = new URL(match[0]);
    } catch {
      url = null;
    }
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      const a = el('a', '', match[0]);
      a.href = url.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      fragment.append(a);
    } else {
      fragment.append(document.createTextNode(match[0]));
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

// Inline formatting: `code`, *bold*, _italic_. A delimiter opens only before a non-space and
// closes only after one; `_` only at a word's edge, so snake_case stays as it is.
const INLINE = /(`[^`\n]+`)|(\*[^\s*](?:[^*\n]*[^\s*])?\*)|((?<![\p{L}\p{N}_])_[^\s_](?:[^_\n]*[^\s_])?_(?![\p{L}\p{N}_]))/gu;

/** Text with inline formatting and links, as DOM nodes (never HTML). */
export function formatInline(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) fragment.append(linkify(text.slice(last, match.index)));
    const inner = match[0].slice(1, -1);
    if (match[1]) fragment.append(el('code', '', inner));
    else {
      const node = el(match[2] ? 'strong' : 'em');
      node.append(linkify(inner));
      fragment.append(node);
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(linkify(text.slice(last)));
  return fragment;
}

/**
 * A message's text, formatted: fenced code blocks (```), quotes (lines starting with `>`),
 * and inline formatting elsewhere. Built as DOM nodes: nothing in a message is ever parsed as
 * HTML. Line breaks are kept (the text is shown with `white-space: pre-wrap`).
 */
export function formatText(text) {
  const fragment = document.createDocumentFragment();
  const lines = text.split('\n');
  let plain = [];
  const flush = () => {
    if (!plain.length) return;
    fragment.append(formatInline(plain.join('\n')));
    plain = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trimStart().startsWith('```')) {
      const end = lines.findIndex((l, j) => j > i && l.trimStart().startsWith('```'));
      if (end > i) {
        flush();
        const pre = el('pre');
        pre.append(el('code', '', lines.slice(i + 1, end).join('\n')));
        fragment.append(pre);
        i = end;
        continue;
      }
    }
    if (line.startsWith('>')) {
      flush();
      const quoted = [];
      while (i < lines.length && lines[i].startsWith('>')) quoted.push(lines[i++].replace(/^> ?/, ''));
      i--;
      const q = el('blockquote');
      q.append(formatInline(quoted.join('\n')));
      fragment.append(q);
      continue;
    }
    plain.push(line);
  }
  flush();
  return fragment;
}

export function mentions(text, name) {
  if (!name) return false;
  const escaped = name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escaped}($|[^\\p{L}\\p{N}_])`, 'iu').test(text);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (date.toDateString() === today.toDateString()) return 'Today';
  if (date.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return dayFormat.format(date);
}

/** The emojis offered by the reaction picker. */
export const QUICK_EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

/** What a reply quotes: the original's author and the start of its text. */
function quote(original) {
  const q = el('div', 'quote');
  if (!original) {
    q.textContent = '↪ an earlier message';
  } else if (original.deleted) {
    q.textContent = `↪ ${original.from}: (deleted)`;
  } else {
    const text = original.text.length > 80 ? `${original.text.slice(0, 80)}…` : original.text;
    q.textContent = `↪ ${original.from}: ${text}`;
  }
  if (original) q.dataset.jump = original.id;
  return q;
}

/** The actions shown over a message on hover (and on focus): reply, react, and for one's own
 *  messages edit and delete (`mayDelete` also for moderators). */
function actions(item, mine, mayDelete) {
  const bar = el('div', 'actions');
  const button = (action, label, title) => {
    const b = el('button', '', label);
    b.type = 'button';
    b.dataset.action = action;
    b.dataset.id = item.id;
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

/**
 * The message list of a conversation: day separators, and consecutive messages of one author
 * (within five minutes) grouped under one name. `items` are messages and notices in order;
 * `byId` finds a reply's original; `mayDelete` tells whether the user may delete others'
 * messages here.
 */
export function renderItems(container, items, me, { byId = new Map(), mayDelete = false } = {}) {
  const fragment = document.createDocumentFragment();
  let previous = null;
  let lastDay = null;
  for (const item of items) {
    if (item.notice) {
      fragment.append(el('div', 'notice', item.notice));
      previous = null;
      continue;
    }
    if (item.divider) {
      fragment.append(el('div', 'divider', 'New messages'));
      previous = null;
      continue;
    }
    const date = new Date(item.timestamp);
    if (lastDay !== date.toDateString()) {
      fragment.append(el('div', 'day', dayLabel(date)));
      lastDay = date.toDateString();
      previous = null;
    }
    const grouped = previous && previous.from === item.from && date - new Date(previous.timestamp) < 5 * 60000;
    const node = el('div', 'msg');
    node.dataset.id = item.id ?? '';
    if (!grouped) node.classList.add('first');
    const isAction = item.text.startsWith('/me ');
    if (!grouped || isAction) {
      const head = el('div', 'head');
      head.append(el('span', 'author', item.from));
      const time = el('time', '', timeFormat.format(date));
      time.dateTime = date.toISOString();
      head.append(time);
      if (!isAction) node.append(head);
    }
    const text = el('div', 'text');
    if (item.deleted) {
      node.classList.add('deleted');
      text.append(el('span', 'state', 'message deleted'));
    } else if (isAction) {
      node.classList.add('action');
      text.append(document.createTextNode(`* ${item.from} `), formatInline(item.text.slice(4)));
    } else {
      text.append(formatText(item.text));
    }
    if (item.edited && !item.deleted) {
      const edited = el('span', 'edited', '(edited)');
      edited.title = `edited ${new Date(item.edited).toLocaleString()}`;
      text.append(edited);
    }
    if (item.reply_to && !item.deleted) node.append(quote(byId.get(item.reply_to)));
    node.append(text);
    node.title = date.toLocaleString();
    if (item.id !== undefined && !item.deleted && item.state === undefined) {
      node.append(actions(item, item.from.toLowerCase() === me.toLowerCase(), mayDelete));
      // Focusable, so that a tap (phones have no hover) or the keyboard shows its actions.
      node.tabIndex = 0;
    }
    if (item.reactions?.length && !item.deleted) {
      const row = el('div', 'reactions');
      for (const r of item.reactions) {
        const chip = el('button', 'reaction', `${r.emoji} ${r.count}`);
        chip.type = 'button';
        chip.title = r.users.join(', ');
        chip.dataset.action = 'toggle-reaction';
        chip.dataset.id = item.id;
        chip.dataset.emoji = r.emoji;
        if (r.users.some((u) => u.toLowerCase() === me.toLowerCase())) chip.classList.add('mine');
        row.append(chip);
      }
      node.append(row);
    }
    if (item.state === 'pending') {
      node.classList.add('pending');
      text.append(el('span', 'state', 'sending…'));
    } else if (item.state === 'failed') {
      node.classList.add('failed');
      text.append(el('span', 'state', `not sent: ${item.reason}`));
    }
    if (item.from !== me && mentions(item.text, me)) node.classList.add('mention');
    fragment.append(node);
    previous = item;
  }
  container.replaceChildren(fragment);
}

/** Folds a string as the server's search does (case and accents ignored), with, for each
 *  folded character, where it came from in the original. */
function fold(text) {
  let folded = '';
  const from = [];
  for (let i = 0; i < text.length; i++) {
    const f = text[i].normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    for (const ch of f) {
      folded += ch;
      from.push(i);
    }
  }
  return { folded, from };
}

/** `text` with the query's words marked (`<mark>` nodes, built as DOM). */
export function highlight(text, query) {
  const words = [...query.matchAll(/"([^"]+)"|(\S+)/g)].map((m) => (m[1] ?? m[2]))
    .map((w) => fold(w).folded.replace(/[^\p{L}\p{N}\s]/gu, ' ').trim()).filter(Boolean);
  const { folded, from } = fold(text);
  const ranges = [];
  for (const word of words) {
    let at = folded.indexOf(word);
    while (at >= 0) {
      ranges.push([from[at], from[at + word.length - 1] + 1]);
      at = folded.indexOf(word, at + word.length);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const [start, end] of ranges) {
    if (start < last) continue;
    fragment.append(document.createTextNode(text.slice(last, start)));
    fragment.append(el('mark', '', text.slice(start, end)));
    last = end;
  }
  fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}
