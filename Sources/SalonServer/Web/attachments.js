// A message's attachments (the file objects of protocol §10): images as previews whose box has
// its final size before the image loads, so that the conversation does not move when it
// arrives; other files as a card with name, size and a download link.
import { el } from './dom.js';

const MAX_WIDTH = 320;
const MAX_HEIGHT = 240;

export function attachmentList(files) {
  const list = el('div', 'attachments');
  for (const file of files) list.append(isImage(file) ? imagePreview(file) : fileCard(file));
  return list;
}

function isImage(file) {
  return /^image\/(png|jpeg|gif|webp)$/.test(file.type ?? '') && file.width > 0 && file.height > 0;
}

/** The box is sized from the image's own width and height, scaled to fit 320×240. */
export function previewSize(width, height) {
  const scale = Math.min(1, MAX_WIDTH / width, MAX_HEIGHT / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function imagePreview(file) {
  const { width, height } = previewSize(file.width, file.height);
  const link = el('a', 'attachment image');
  link.href = safeURL(file.url);
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.title = `${file.name} (${file.width}×${file.height}, ${formatSize(file.size)})`;
  link.style.width = `${width}px`;
  link.style.height = `${height}px`;
  const img = el('img');
  img.alt = file.name;
  img.width = width;
  img.height = height;
  img.loading = 'lazy';
  img.decoding = 'async';
  img.src = safeURL(file.preview_url || file.url);
  link.append(img);
  link.addEventListener('click', (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return; // a new tab, as asked
    event.preventDefault();
    viewImage(file);
  });
  return link;
}

/** The image at full size over the page (Escape or a click closes it). */
function viewImage(file) {
  const dialog = document.getElementById('image-viewer');
  if (!dialog) return;
  const img = document.getElementById('image-viewer-img');
  img.alt = file.name;
  img.src = safeURL(file.url);
  document.getElementById('image-viewer-name').textContent = `${file.name} · ${file.width}×${file.height} · ${formatSize(file.size)}`;
  const download = document.getElementById('image-viewer-download');
  download.href = safeURL(file.url);
  download.download = file.name;
  dialog.showModal();
}

export function wireImageViewer() {
  const dialog = document.getElementById('image-viewer');
  dialog.addEventListener('click', (event) => {
    if (event.target.closest('a')) return;
    dialog.close();
  });
  dialog.addEventListener('close', () => { document.getElementById('image-viewer-img').removeAttribute('src'); });
}

function fileCard(file) {
  const card = el('div', 'attachment file');
  card.append(el('span', 'file-name', file.name), el('span', 'file-size', formatSize(file.size)));
  const link = el('a', 'download', 'Download');
  link.href = safeURL(file.url);
  link.download = file.name;
  link.rel = 'noopener noreferrer';
  card.append(link);
  return card;
}

/** Only this server's own paths are followed: a file's url is `/api/files/…`. */
function safeURL(url) {
  return typeof url === 'string' && url.startsWith('/api/files/') ? url : '#';
}

export function formatSize(bytes) {
  if (!(bytes >= 0)) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
