// The conversation in view, drawn into the message list: day separators, messages grouped
// under one head per author (within five minutes), notices, the "new messages" divider, the
// messages being sent (always last). A conversation is drawn whole when it is opened or
// older history arrives; after that each change touches only its own nodes: a new message is
// appended, an edited, deleted or reacted-to message is redrawn in place (found by
// `data-id`), and what the reader is looking at stays where it is.
import { el } from './dom.js';
import { messageNode } from './message.js';
import { replyQuote } from './reply-quote.js';

const GROUP_MS = 5 * 60000;
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

function dayLabel(date) {
  const yesterday = new Date(Date.now() - 86400000);
  if (date.toDateString() === new Date().toDateString()) return 'Today';
  if (date.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return dayFormat.format(date);
}

function groupable(previous, message) {
  if (!previous || previous.from !== message.from) return false;
  const a = new Date(previous.timestamp);
  const b = new Date(message.timestamp);
  return a.toDateString() === b.toDateString() && b - a < GROUP_MS;
}

export class Timeline {
  /** `context()` says who the reader is (`me`) and whether they may delete others' messages
   *  in a conversation (`mayDelete(c)`). */
  constructor(box, context) {
    this.box = box;
    this.context = context;
  }

  atBottom() {
    return this.box.scrollHeight - this.box.scrollTop - this.box.clientHeight < 40;
  }

  scrollToBottom() {
    this.box.scrollTop = this.box.scrollHeight;
  }

  /** Draws `c` whole. `stick`: scrolled to the end; `keepPosition`: the same distance from
   *  the end as before (older messages were added above). */
  render(c, { stick = false, keepPosition = false } = {}) {
    const fromBottom = this.box.scrollHeight - this.box.scrollTop;
    const fragment = document.createDocumentFragment();
    if (c.hasOlder && c.loaded) fragment.append(el('div', 'older', 'Scroll up for older messages'));
    let previous = null;
    let lastDay = null;
    let n = 0;
    const options = this.options(c);
    // A notice came after the message that was the last one then (`afterId`): it goes before
    // every later message.
    for (const m of c.messages) {
      while (n < c.notices.length && c.notices[n].afterId < m.id) {
        fragment.append(el('div', 'notice', c.notices[n++].notice));
        previous = null;
      }
      if (m.id === c.dividerBefore) {
        fragment.append(el('div', 'divider', 'New messages'));
        previous = null;
      }
      const day = new Date(m.timestamp).toDateString();
      if (day !== lastDay) {
        fragment.append(el('div', 'day', dayLabel(new Date(m.timestamp))));
        lastDay = day;
        previous = null;
      }
      fragment.append(this.node(c, m, groupable(previous, m), options));
      previous = m;
    }
    for (const notice of c.notices.slice(n)) fragment.append(el('div', 'notice', notice.notice));
    for (const p of c.pending) fragment.append(this.node(c, p, false, options));
    this.box.replaceChildren(fragment);
    if (keepPosition) this.box.scrollTop = this.box.scrollHeight - fromBottom;
    else if (stick) this.scrollToBottom();
  }

  /** A message newer than every one shown: added at the end (before what is being sent).
   *  Returns false when it is not the newest (the caller draws the whole conversation). */
  append(c, m) {
    const last = this.lastMessageNode();
    const lastId = last ? Number(last.dataset.id) : 0;
    if (m.id <= lastId) return false;
    const stick = this.atBottom();
    const before = this.box.querySelector('.msg[data-client-id]');
    const previousNode = before ? before.previousElementSibling : this.box.lastElementChild;
    const previous = previousNode?.matches('.msg[data-id]') ? c.byId.get(Number(previousNode.dataset.id)) : null;
    const lastDay = last ? c.byId.get(lastId)?.timestamp : null;
    if (!lastDay || new Date(lastDay).toDateString() !== new Date(m.timestamp).toDateString()) {
      this.box.insertBefore(el('div', 'day', dayLabel(new Date(m.timestamp))), before);
    }
    this.box.insertBefore(this.node(c, m, groupable(previous, m), this.options(c)), before);
    if (stick) this.scrollToBottom();
    return true;
  }

  /** Redraws message `id` where it is, and the quotes of the replies to it. */
  update(c, id) {
    const old = this.box.querySelector(`.msg[data-id="${id}"]`);
    const m = c.byId.get(id);
    if (!m) return;
    this.keepInPlace(() => {
      let replacement = null;
      if (old) {
        replacement = this.node(c, m, !old.classList.contains('first'), this.options(c));
        const focused = old.contains(document.activeElement);
        old.replaceWith(replacement);
        if (focused) replacement.focus({ preventScroll: true });
      }
      for (const q of this.box.querySelectorAll(`.quote[data-jump="${id}"]`)) q.replaceWith(replyQuote(id, m));
      return replacement;
    });
  }

  /** A notice after everything shown (before what is being sent). */
  appendNotice(text) {
    const stick = this.atBottom();
    this.box.insertBefore(el('div', 'notice', text), this.box.querySelector('.msg[data-client-id]'));
    if (stick) this.scrollToBottom();
  }

  /** The messages being sent, drawn again (one was added, acknowledged or refused). */
  renderPending(c, { stick = false } = {}) {
    for (const node of this.box.querySelectorAll('.msg[data-client-id]')) node.remove();
    const options = this.options(c);
    for (const p of c.pending) this.box.append(this.node(c, p, false, options));
    if (stick) this.scrollToBottom();
  }

  removeDivider() {
    this.box.querySelector('.divider')?.remove();
  }

  /** Scrolls message `id` into the middle and marks it a moment. Returns false when it is not
   *  shown. */
  show(id) {
    const node = this.box.querySelector(`.msg[data-id="${id}"]`);
    if (!node) return false;
    node.scrollIntoView({ block: 'center' });
    node.classList.remove('flash');
    void node.offsetWidth;  // restarts the animation
    node.classList.add('flash');
    return true;
  }

  // MARK: Private

  options(c) {
    const { me, mayDelete } = this.context();
    return { me, mayDelete: mayDelete(c) };
  }

  node(c, m, grouped, { me, mayDelete }) {
    return messageNode(m, { me, grouped, mayDelete, original: m.reply_to ? c.byId.get(m.reply_to) : undefined });
  }

  lastMessageNode() {
    const nodes = this.box.querySelectorAll('.msg[data-id]');
    return nodes.length ? nodes[nodes.length - 1] : null;
  }

  /** Runs `change`, which redraws nodes, so that what the reader sees does not move: at the
   *  end, the view stays at the end; otherwise the first node in view keeps its place (or the
   *  node `change` returns, when that one replaced it). */
  keepInPlace(change) {
    const box = this.box;
    if (this.atBottom()) {
      change();
      this.scrollToBottom();
      return;
    }
    const top = box.getBoundingClientRect().top;
    const anchor = [...box.children].find((n) => n.getBoundingClientRect().bottom > top);
    const before = anchor?.getBoundingClientRect().top ?? 0;
    const replacement = change();
    const now = anchor?.isConnected ? anchor : replacement;
    if (now) box.scrollTop += now.getBoundingClientRect().top - before;
  }
}
