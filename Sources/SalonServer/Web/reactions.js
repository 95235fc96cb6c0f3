// The reactions under a message: one chip per emoji with its count; the people who reacted in
// its tooltip; one's own reaction marked. A click toggles one's reaction (`data-action`).
import { el } from './dom.js';

/** The emojis offered by the reaction picker. */
export const QUICK_EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

export function reactionRow(message, me) {
  const row = el('div', 'reactions');
  for (const r of message.reactions) {
    const chip = el('button', 'reaction', `${r.emoji} ${r.count}`);
    chip.type = 'button';
    chip.title = r.users.join(', ') + (r.count > r.users.length ? ` and ${r.count - r.users.length} more` : '');
    chip.dataset.action = 'toggle-reaction';
    chip.dataset.id = message.id;
    chip.dataset.emoji = r.emoji;
    if (hasReacted(r, me)) chip.classList.add('mine');
    row.append(chip);
  }
  return row;
}

export function hasReacted(reaction, name) {
  return reaction.users.some((u) => u.toLowerCase() === name.toLowerCase());
}

/** `reactions` with `username`'s `emoji` added or taken back (a new array: the old one is
 *  left as it was). At most 50 names are kept per emoji, as the server sends them. */
export function withReaction(reactions = [], emoji, username, added) {
  const next = reactions.map((r) => ({ ...r, users: [...r.users] }));
  let r = next.find((x) => x.emoji === emoji);
  const has = r ? hasReacted(r, username) : false;
  if (added && !has) {
    if (!r) next.push(r = { emoji, count: 0, users: [] });
    r.count++;
    if (r.users.length < 50) r.users.push(username);
  } else if (!added && r && has) {
    r.count--;
    r.users = r.users.filter((u) => u.toLowerCase() !== username.toLowerCase());
  }
  return next.filter((x) => x.count > 0);
}
