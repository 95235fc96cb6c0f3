// The quote above a reply: who wrote the original and how it began. A click on it jumps to the
// original (`data-jump`, handled by the timeline).
import { el } from './dom.js';

const QUOTE_LENGTH = 80;

/** The quote of `original` (undefined when it is not loaded here: "an earlier message"). */
export function replyQuote(id, original) {
  const q = el('div', 'quote');
  q.dataset.jump = id;
  if (!original) {
    q.textContent = '↪ an earlier message';
  } else if (original.deleted) {
    q.textContent = `↪ ${original.from}: (deleted)`;
  } else {
    const chars = [...original.text];
    const text = chars.length > QUOTE_LENGTH ? `${chars.slice(0, QUOTE_LENGTH).join('')}…` : original.text;
    q.textContent = `↪ ${original.from}: ${text}`;
  }
  return q;
}
