// Getting a person's attention: desktop notifications (once allowed), a short sound made with
// Web Audio (no file needed), and the unread count in the page title.

export class Alerts {
  constructor() {
    this.audio = null;
  }

  wire(button) {
    const supported = 'Notification' in window;
    button.hidden = !supported || Notification.permission !== 'default';
    button.addEventListener('click', async () => {
      await Notification.requestPermission();
      button.hidden = Notification.permission !== 'default';
    });
    // Browsers allow sound only after a gesture: prepare it at the first one.
    const unlock = () => {
      if (!this.audio && window.AudioContext) this.audio = new AudioContext();
      this.audio?.resume();
    };
    document.addEventListener('pointerdown', unlock, { once: true });
    document.addEventListener('keydown', unlock, { once: true });
  }

  notify(title, body) {
    this.beep();
    if ('Notification' in window && Notification.permission === 'granted') {
      const n = new Notification(title, { body, tag: title, icon: '/icon.svg' });
      n.addEventListener('click', () => window.focus());
    }
  }

  beep() {
    const ctx = this.audio;
    if (!ctx || ctx.state !== 'running') return;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
  }

  updateTitle(unread) {
    document.title = unread > 0 ? `(${unread}) Salon` : 'Salon';
  }
}
