// The one signaling client of the branch: docs/protocol.md is the contract,
// branch/schema.py the server side. tests/test_static_contract.py checks that
// these two lists match the server's registry, so keep them plain literals.

export const CLIENT_TYPES = Object.freeze([
  "ping",
  "queue.join",
  "queue.leave",
  "queue.ready",
  "queue.resume",
  "call.reclaim",
  "agent.available",
  "agent.not_ready",
  "agent.pause_after",
  "offer.accept",
  "offer.decline",
  "call.hangup",
  "signal.description",
  "signal.candidate",
  "wrapup.submit",
  "call.transfer",
  "survey.submit",
  "chat.send",
  "call.audio_only",
  "call.camera",
  "supervisor.not_ready",
  "supervisor.pause_after",
  "supervisor.log_out",
  "supervisor.broadcast",
  "supervisor.clear_notice",
]);

export const SERVER_TYPES = Object.freeze([
  "welcome",
  "pong",
  "error",
  "queue.joined",
  "queue.position",
  "queue.offered",
  "queue.left",
  "queue.summary",
  "agent.state",
  "offer",
  "offer.history",
  "offer.cancelled",
  "call.started",
  "call.ended",
  "signal.description",
  "signal.candidate",
  "wrapup.saved",
  "survey.saved",
  "call.reconnecting",
  "call.resumed",
  "chat.message",
  "queue.skipped",
  "service.status",
  "call.audio_only",
  "call.camera",
  "queue.ticket",
  "queue.reclaim",
  "queue.notice",
  "queue.notice_cleared",
  "wallboard",
  "supervisor.done",
]);

export const CLOSE = Object.freeze({
  GOING_AWAY: 1001,
  TOO_LARGE: 1009,
  NOT_AUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  FELL_BEHIND: 4408,
  REPLACED: 4409,
  SESSION_ENDED: 4440,
});

// Reconnecting after these would only be refused again, or would steal the
// session back from the newer window. After any other close the page reconnects,
// FELL_BEHIND too: a page that stopped reading (a frozen tab) gets the line anew.
const FINAL_CLOSES = new Set([
  CLOSE.NOT_AUTHENTICATED,
  CLOSE.FORBIDDEN,
  CLOSE.REPLACED,
  CLOSE.SESSION_ENDED,
]);

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

export class Signaling {
  /**
   * @param {object} options
   * @param {string} [options.url] defaults to wss://<this host>/ws
   * @param {(event: {code: number, reason: string, final: boolean, retryInMs: number|null}) => void} [options.onClose]
   * @param {() => void} [options.onOpen]
   */
  constructor({ url, onClose, onOpen } = {}) {
    const scheme = location.protocol === "http:" ? "ws:" : "wss:";
    this.url = url ?? `${scheme}//${location.host}/ws`;
    this.onClose = onClose ?? (() => {});
    this.onOpen = onOpen ?? (() => {});
    this.handlers = new Map();
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.lastClose = null;
  }

  /** Register the handler of one server message type (one handler per type). */
  on(type, handler) {
    if (!SERVER_TYPES.includes(type)) {
      throw new Error(`"${type}" is not a server message type`);
    }
    this.handlers.set(type, handler);
    return this;
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.timer);
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => this.onOpen());
    socket.addEventListener("message", (event) => this.dispatch(event.data));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.lastClose = { code: event.code, reason: event.reason };
      const final = this.stopped || FINAL_CLOSES.has(event.code);
      let retryInMs = null;
      if (!final) {
        // Full jitter, so that a restarted node is not hit by every page at once.
        const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
        retryInMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        this.attempt += 1;
        this.timer = setTimeout(() => this.connect(), retryInMs);
      }
      this.onClose({ code: event.code, reason: event.reason, final, retryInMs });
    });
  }

  get connected() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Send one client message; returns false when the socket is not open. */
  send(type, fields = {}) {
    if (!CLIENT_TYPES.includes(type)) {
      throw new Error(`"${type}" is not a client message type`);
    }
    if (!this.connected) return false;
    this.socket.send(JSON.stringify({ ...fields, type }));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, "page closed");
  }

  dispatch(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn("signaling: frame is not JSON");
      return;
    }
    if (message === null || typeof message !== "object") return;
    if (message.type === "welcome") this.attempt = 0;
    const handler = this.handlers.get(message.type);
    if (!handler) {
      if (!SERVER_TYPES.includes(message.type)) {
        console.warn("signaling: unknown message type", message.type);
      }
      return;
    }
    try {
      handler(message);
    } catch (error) {
      console.error(`signaling: handler of ${message.type} failed`, error);
    }
  }
}
