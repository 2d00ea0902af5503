// The live client: one socket per tab, shared by everything on the page.
//
// Each followed stream keeps the last seq it applied. Events at or below it are duplicates and
// dropped; an event past it + 1 reveals a gap, filled over HTTP before anything later is applied.
// After a disconnect it reconnects with exponential backoff and jitter and resubscribes with
// `since`, so the server replays what was missed; `reset` hands the stream back to the page to
// reload it, after which it follows again from the new head.

const statusElement = () => document.getElementById("live-status");

let shared = null;

// The tab's one live client: every module on the page follows its streams through it, so a
// page script and the header's notifications share one socket. Made on first use.
export function sharedLive() {
  shared ??= new Live();
  return shared;
}

export class Live {
  constructor() {
    this.streams = new Map();
    this.socket = null;
    this.attempt = 0;
    this.pending = [];
    this.listeners = new Set();
    this.retry = null;
    // The browser knows before TCP does: drop the socket when it goes offline, and come back at
    // once (not after the backoff) when it is online again.
    window.addEventListener("offline", () => this.socket?.close());
    window.addEventListener("online", () => {
      if (this.socket === null) {
        clearTimeout(this.retry);
        this.attempt = 0;
        this.connect();
      }
    });
    this.connect();
  }

  // One follower per stream: a second follow of the same stream replaces the first.
  follow(stream, since, handlers) {
    this.streams.set(stream, { last: since, handlers, chain: Promise.resolve() });
    this.send({ op: "subscribe", stream, since });
  }

  onOpen(listener) { this.listeners.add(listener); }

  get open() { return this.socket !== null && this.socket.readyState === WebSocket.OPEN; }

  send(frame) {
    if (this.open) this.socket.send(JSON.stringify(frame));
    return this.open;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.socket = socket;
    this.retry = null;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.status(null);
      for (const [stream, state] of this.streams) {
        socket.send(JSON.stringify({ op: "subscribe", stream, since: state.last }));
      }
      this.listeners.forEach((listener) => listener());
    });
    socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.status("Reconnecting…");
      // 0.5 s, 1 s, 2 s … up to 30 s, each somewhere between half and all of it.
      const ceiling = Math.min(30000, 500 * 2 ** this.attempt);
      this.attempt += 1;
      this.retry = setTimeout(() => this.connect(), ceiling * (0.5 + Math.random() / 2));
    });
  }

  status(text) {
    const element = statusElement();
    if (!element) return;
    element.hidden = text === null;
    element.textContent = text ?? "";
    document.documentElement.dataset.live = text === null ? "open" : "reconnecting";
  }

  receive(frame) {
    const state = this.streams.get(frame.stream);
    if (frame.type === "event" && state) {
      state.chain = state.chain.then(() => this.apply(frame.stream, state, frame));
    } else if (frame.type === "reset" && state) {
      state.chain = state.chain.then(async () => {
        const head = await state.handlers.reset?.(frame.head);
        state.last = head ?? frame.head;
        this.send({ op: "subscribe", stream: frame.stream, since: state.last });
      });
    } else if (frame.type === "presence" && state) {
      state.handlers.presence?.(frame.users);
    } else if (frame.type === "typing" && state) {
      state.handlers.typing?.(frame);
    } else if (frame.type === "ack" || frame.type === "error") {
      this.pending.forEach((handler) => handler(frame));
    }
  }

  async apply(stream, state, event) {
    if (event.seq <= state.last) return; // already applied
    if (event.seq > state.last + 1) await this.fill(stream, state, event.seq - 1);
    if (event.seq !== state.last + 1) return;
    state.last = event.seq;
    state.handlers.event?.(event);
  }

  async fill(stream, state, upto) {
    while (state.last < upto) {
      const response = await fetch(
        `/api/streams/${encodeURIComponent(stream)}/events?after=${state.last}&limit=${upto - state.last}`,
        { credentials: "same-origin" },
      );
      if (!response.ok) return;
      const { events } = await response.json();
      if (events.length === 0) return;
      for (const event of events) {
        if (event.seq === state.last + 1) {
          state.last = event.seq;
          state.handlers.event?.(event);
        }
      }
    }
  }

  onReply(handler) { this.pending.push(handler); }
}
