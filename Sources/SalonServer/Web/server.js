// The one connection of the page to its server (the WebSocket at /ws of this origin). The
// session sets what it does on open, on a push and on close.
import { Connection } from './connection.js';

export const connection = new Connection(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
