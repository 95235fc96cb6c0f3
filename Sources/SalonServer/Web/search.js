// The search dialog: results newest first with the words marked; a result opens its message in
// its conversation (`onOpen(message)`).
import { $, el } from './dom.js';
import { highlight } from './format.js';
import { keyOf } from './state.js';
import { connection } from './server.js';

export async function runSearch(query, onOpen) {
  const status = $('search-status');
  const list = $('search-results');
  list.replaceChildren();
  if (!query.trim()) return;
  status.textContent = 'Searching…';
  try {
    const result = await connection.request('search', { query, limit: 50 });
    status.textContent = result.messages.length === 0 ? 'Nothing found.'
      : `${result.messages.length}${result.has_more ? '+' : ''} found, newest first.`;
    for (const m of result.messages) {
      const li = el('li');
      const button = el('button');
      button.type = 'button';
      const where = m.room ? `#${m.room}` : `with ${keyOf(m).slice(1)}`;
      button.append(el('div', 'where', `${m.from} · ${where} · ${new Date(m.timestamp).toLocaleString()}`));
      const text = el('div', 'text');
      text.append(highlight(m.text, query));
      button.append(text);
      button.addEventListener('click', () => onOpen(m));
      li.append(button);
      list.append(li);
    }
  } catch (error) {
    status.textContent = error.message;
  }
}
