// A message's text as DOM nodes: links, inline formatting, code blocks, quotes, search marks.
// Text is always inserted as text, never as HTML; a link is an <a> built here whose href is
// checked to be http(s).
import { el } from './dom.js';

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/g;

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

/** `2026-12-02T10:30:00.000Z` → "Dec 2, 10:30" in the viewer's time (ends of bans and mutes). */
export function when(iso) {
  return new Date(iso).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
