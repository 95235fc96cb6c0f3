// Files to send: chosen with the button, dropped on the conversation or pasted into the
// composer. Each is uploaded at once (POST /api/files, with the token in a header, never in a
// URL), with its progress in the tray above the composer; an image also gets a small preview,
// made here by the browser (the server checks it and keeps it). Sending the message attaches
// the files that finished.
import { $, el } from './dom.js';
import { formatSize } from './attachments.js';

const PREVIEW_SIDE = 480;
const MAX_FILES = 10;
let uploads = []; // { id, file, progress, status: 'uploading' | 'done' | 'failed', info, error, xhr }
let counter = 0;
let onChange = () => {};

/** Called whenever the tray changes (the composer enables Send). */
export function onUploadsChange(callback) { onChange = callback; }

function token() { return window.localStorage.getItem('salon.token'); }

/** Whether this user may upload: accounts only (a guest has no token). */
export function canUpload() { return Boolean(token()); }

export function addFiles(files) {
  for (const file of files) {
    if (uploads.length >= MAX_FILES) {
      showTrayError(`A message carries at most ${MAX_FILES} files.`);
      break;
    }
    const upload = { id: ++counter, file, progress: 0, status: 'uploading', info: null, error: '' };
    uploads.push(upload);
    start(upload);
  }
  render();
}

async function start(upload) {
  const form = new FormData();
  form.append('file', upload.file, upload.file.name || 'pasted');
  const preview = await makePreview(upload.file).catch(() => null);
  if (preview) form.append('preview', preview, 'preview');
  if (!uploads.includes(upload)) return; // removed meanwhile
  const xhr = new XMLHttpRequest();
  upload.xhr = xhr;
  xhr.open('POST', '/api/files');
  xhr.setRequestHeader('Authorization', `Bearer ${token()}`);
  xhr.responseType = 'json';
  xhr.upload.addEventListener('progress', (event) => {
    if (event.lengthComputable) upload.progress = event.loaded / event.total;
    render();
  });
  xhr.addEventListener('load', () => {
    if (xhr.status === 201 && xhr.response?.id) {
      upload.status = 'done';
      upload.info = xhr.response;
    } else {
      upload.status = 'failed';
      upload.error = xhr.response?.error?.message || `the upload failed (${xhr.status})`;
    }
    render();
  });
  xhr.addEventListener('error', () => {
    upload.status = 'failed';
    upload.error = 'the upload was cut off: try again';
    render();
  });
  xhr.send(form);
}

/** A small copy of an image (at most 480 pixels a side), or null for other files. */
async function makePreview(file) {
  if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type) || typeof createImageBitmap !== 'function') return null;
  const bitmap = await createImageBitmap(file); // EXIF orientation applied, as the server reports the size
  const scale = Math.min(1, PREVIEW_SIDE / bitmap.width, PREVIEW_SIDE / bitmap.height);
  if (scale === 1 && file.size < 200 * 1024) return null; // small already: the image is its own preview
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const type = file.type === 'image/jpeg' ? 'image/jpeg' : 'image/webp';
  return new Promise((resolve) => canvas.toBlob(resolve, type, 0.82));
}

function remove(id) {
  const upload = uploads.find((u) => u.id === id);
  if (upload?.xhr && upload.status === 'uploading') upload.xhr.abort();
  uploads = uploads.filter((u) => u.id !== id);
  render();
}

/** What a message sent now carries: null while one is still uploading. */
export function readyAttachments() {
  if (uploads.some((u) => u.status === 'uploading')) return null;
  return uploads.filter((u) => u.status === 'done').map((u) => u.info);
}

export function hasUploads() { return uploads.length > 0; }

/** The tray empties once the message carrying them is sent. */
export function clearUploads() {
  uploads = [];
  render();
}

function showTrayError(text) {
  const tray = $('uploads');
  tray.hidden = false;
  const line = el('p', 'upload-error', text);
  tray.append(line);
  setTimeout(() => line.remove(), 5000);
}

function render() {
  const tray = $('uploads');
  tray.replaceChildren();
  tray.hidden = uploads.length === 0;
  for (const upload of uploads) {
    const item = el('div', `upload ${upload.status}`);
    item.append(el('span', 'upload-name', upload.file.name || 'pasted image'), el('span', 'upload-size', formatSize(upload.file.size)));
    if (upload.status === 'uploading') {
      const bar = el('progress', 'upload-progress');
      bar.max = 1;
      bar.value = upload.progress;
      bar.setAttribute('aria-label', `Uploading ${upload.file.name}`);
      item.append(bar);
    } else if (upload.status === 'failed') {
      item.append(el('span', 'upload-reason', upload.error));
    } else {
      item.append(el('span', 'upload-done', '✓'));
    }
    const cancel = el('button', 'ghost upload-remove', '✕');
    cancel.type = 'button';
    cancel.setAttribute('aria-label', `Remove ${upload.file.name}`);
    cancel.addEventListener('click', () => remove(upload.id));
    item.append(cancel);
    tray.append(item);
  }
  onChange();
}

/** The attach button, dropping on the conversation, and pasting files into the composer. */
export function wireUploads() {
  const input = $('file-input');
  $('attach-button').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    addFiles([...input.files]);
    input.value = '';
  });
  const area = document.querySelector('.conversation');
  area.addEventListener('dragover', (event) => {
    if (!canUpload() || ![...event.dataTransfer.types].includes('Files')) return;
    event.preventDefault();
    area.classList.add('dropping');
  });
  area.addEventListener('dragleave', (event) => {
    if (!area.contains(event.relatedTarget)) area.classList.remove('dropping');
  });
  area.addEventListener('drop', (event) => {
    area.classList.remove('dropping');
    if (!canUpload() || !event.dataTransfer.files.length) return;
    event.preventDefault();
    addFiles([...event.dataTransfer.files]);
  });
  $('input').addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length || !canUpload()) return;
    event.preventDefault();
    addFiles(files);
  });
}

/** After login: the file cookie that lets images and download links work without a token in
 *  their URL (HttpOnly: the page itself never reads it). */
export async function grantFileAccess() {
  const t = token();
  $('attach-button').hidden = !t;
  if (!t) return;
  try {
    await fetch('/api/files/cookie', { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
  } catch {
    // Images will show once the server is back and the page logs in again.
  }
}

export async function dropFileAccess() {
  try {
    await fetch('/api/files/cookie', { method: 'DELETE' });
  } catch {
    // The token is revoked anyway.
  }
}
