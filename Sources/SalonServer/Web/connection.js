// The WebSocket connection to the server: requests that resolve with their reply, pushes
// handed to the app, and reconnection with growing pauses when the connection drops.

export class ServerError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class Connection {
  constructor(url, { onOpen = () => {}, onPush = () => {}, onClose = () => {} } = {}) {
    this.url = url;
    this.onOpen = onOpen;
    this.onPush = onPush;
    this.onClose = onClose;
    this.pending = new Map();
    this.nextId = 1;
    this.delay = 500;
    this.stopped = false;
    this.socket = null;
    this.retryTimer = null;
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.delay = 500;
      this.onOpen();
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      for (const { reject } of this.pending.values()) reject(new ServerError('disconnected', 'the connection was lost'));
      this.pending.clear();
      if (this.stopped) return;
      const wait = Math.round(this.delay * (0.8 + Math.random() * 0.4));
      this.delay = Math.min(this.delay * 2, 15000);
      this.onClose(wait);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    });
  }

  /** Closes for good (log out). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close();
  }

  request(action, data = {}) {
    if (!this.isOpen) return Promise.reject(new ServerError('disconnected', 'not connected'));
    const id = `w${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ action, id, data }));
    });
  }

  receive(text) {
    let envelope;
    try {
      envelope = JSON.parse(text);
    } catch {
      return;
    }
    const waiter = envelope.reply_to ? this.pending.get(envelope.reply_to) : undefined;
    if (waiter) {
      this.pending.delete(envelope.reply_to);
      if (envelope.action === 'error') waiter.reject(new ServerError(envelope.data.code, envelope.data.message));
      else waiter.resolve(envelope.data);
    } else {
      this.onPush(envelope);
    }
  }
}
