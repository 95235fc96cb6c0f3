// The two DOM helpers every module uses.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A new element, with a class and text (inserted as text, never as HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
