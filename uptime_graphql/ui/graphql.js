// GraphQL over HTTP (queries, mutations) and graphql-transport-ws (subscriptions), to this
// page's own origin only. The token, when the server wants one, is asked for once and kept in
// localStorage.

const TOKEN_KEY = "uptime.token";
const ENDPOINT = "/graphql";

export class Unauthenticated extends Error {}
/** The token is accepted but its scope is too low (a read token asking for a change): the
 * message names the scope needed, e.g. "createTarget needs a write token; this token is read". */
export class Forbidden extends Error {}

let askToken = async () => null; // replaced by the app with its dialog
let asking = null; // one dialog at a time, however many requests were refused

let stored = () => {};

export function onTokenNeeded(ask) {
  askToken = ask;
}

export function onTokenStored(callback) {
  stored = callback;
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

async function newToken(rejected) {
  if (!asking) {
    asking = askToken(rejected).then((value) => {
      asking = null;
      if (value) localStorage.setItem(TOKEN_KEY, value);
      stored();
      return value;
    });
  }
  return asking;
}

function unauthenticated(body) {
  return (body.errors || []).some((e) => e.extensions && e.extensions.code === "UNAUTHENTICATED");
}

/** Run a query or mutation; resolves to `data`, rejects with the GraphQL errors' messages.
 * When the server answers UNAUTHENTICATED, the token is asked for and the request retried. */
export async function request(query, variables = {}) {
  for (;;) {
    const headers = { "content-type": "application/json" };
    const current = token();
    if (current) headers.authorization = `Bearer ${current}`;
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (unauthenticated(body)) {
      if (!(await newToken(Boolean(current)))) throw new Unauthenticated("a token is required");
      continue;
    }
    if (body.errors && body.errors.length) {
      const message = body.errors.map((e) => e.message).join("; ");
      const forbidden = body.errors.some((e) => e.extensions && e.extensions.code === "FORBIDDEN");
      throw forbidden ? new Forbidden(message) : new Error(message);
    }
    return body.data;
  }
}

/** One graphql-transport-ws connection carrying any number of subscriptions; it reconnects
 * with backoff and subscribes again, then calls `onReconnect` (events were missed). */
export class Live {
  constructor({ onReconnect = () => {}, onState = () => {} } = {}) {
    this.subscriptions = new Map();
    this.nextId = 1;
    this.onReconnect = onReconnect;
    this.onState = onState;
    this.socket = null;
    this.acked = false;
    this.delay = 500;
    this.connectedOnce = false;
    this.closed = false;
  }

  subscribe(query, variables, onNext) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { query, variables, onNext });
    if (this.acked) this.#send({ id, type: "subscribe", payload: { query, variables } });
    else if (!this.socket) this.#connect();
    return () => {
      this.subscriptions.delete(id);
      if (this.acked) this.#send({ id, type: "complete" });
    };
  }

  close() {
    this.closed = true;
    if (this.socket) this.socket.close(1000);
  }

  #send(message) {
    this.socket.send(JSON.stringify(message));
  }

  #connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${ENDPOINT}`, "graphql-transport-ws");
    this.socket = socket;
    socket.onopen = () => {
      const current = token();
      this.#send({ type: "connection_init", payload: current ? { token: current } : {} });
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      switch (message.type) {
        case "connection_ack": {
          this.acked = true;
          this.delay = 500;
          for (const [id, s] of this.subscriptions) {
            this.#send({ id, type: "subscribe", payload: { query: s.query, variables: s.variables } });
          }
          this.onState("live");
          if (this.connectedOnce) this.onReconnect();
          this.connectedOnce = true;
          break;
        }
        case "next": {
          const s = this.subscriptions.get(message.id);
          if (s && message.payload.data) s.onNext(message.payload.data);
          break;
        }
        case "error":
          console.error("subscription error", message.payload);
          break;
        case "ping":
          this.#send({ type: "pong" });
          break;
        default:
          break;
      }
    };
    socket.onclose = async (event) => {
      this.socket = null;
      this.acked = false;
      if (this.closed) return;
      this.onState("reconnecting");
      if (event.code === 4403 || event.code === 4401) {
        // The token was refused: ask for one (once), then connect again.
        if (!(await newToken(Boolean(token())))) return;
      } else {
        await new Promise((resolve) => setTimeout(resolve, this.delay));
        this.delay = Math.min(this.delay * 2, 10000);
      }
      if (!this.closed && this.subscriptions.size) this.#connect();
    };
  }
}
