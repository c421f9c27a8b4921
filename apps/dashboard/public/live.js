/**
 * The dashboard's one live connection: an EventSource on `/api/v1/events` (the session cookie goes
 * with it) and a tiny bus that hands each event to the views subscribed. The browser reconnects by
 * itself and resumes with Last-Event-ID, so a short outage loses nothing. Views subscribe with their
 * `signal`, so leaving a view unsubscribes it.
 *
 * Besides the server's events, subscribers get `{ type: "live.resync" }` when the stream may have
 * missed events (it opened after the view read its data, or opened afresh): read the state again.
 */

/** Waits after a refused or failed stream before opening a new one (the browser gave up on it). */
const REOPEN_DELAYS_MS = [2_000, 5_000, 15_000, 30_000];

/** The rooms one stream URL can name (the API takes 2,000 characters of ids and commas). */
export const MAX_ROOMS = 50;

const subscribers = new Set();
const stateWatchers = new Set();

let source = null;
let rooms = "";
/** The id of the last event received: where a stream opened afresh resumes. */
let lastId = null;
let reopenTimer;
let failures = 0;
/** True until the first `system.hello` of a stream that may have missed events. */
let needsResync = false;
/** "connecting", "open", "reconnecting" or "closed". */
let state = "closed";
/** Called when the stream is refused; answers whether to try again (false: the session is over). */
let checkSession = async () => true;

function setState(next) {
  if (next === state) return;
  state = next;
  for (const watcher of stateWatchers) watcher(state);
}

function publish(event) {
  for (const handler of subscribers) {
    try {
      handler(event);
    } catch (err) {
      // One broken view must not keep the others from their events.
      console.error("live event handler failed", err);
    }
  }
}

/** Listens for an event type once per EventSource: the server names each message by its type. */
function listen(es, type, known) {
  if (known.has(type)) return;
  known.add(type);
  es.addEventListener(type, (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (message.lastEventId) lastId = message.lastEventId;
    publish(event);
  });
}

function open() {
  clearTimeout(reopenTimer);
  const params = new URLSearchParams({ rooms });
  // A fresh EventSource has no Last-Event-ID of its own: it resumes from the last event seen.
  if (lastId) params.set("since", lastId);
  else needsResync = true;
  const es = new EventSource(`/api/v1/events?${params}`);
  source = es;
  const known = new Set();
  setState(state === "closed" ? "connecting" : "reconnecting");

  es.addEventListener("system.hello", (message) => {
    failures = 0;
    setState("open");
    let hello;
    try {
      hello = JSON.parse(message.data);
    } catch {
      return;
    }
    for (const type of hello.data?.eventTypes ?? []) listen(es, type, known);
    if (needsResync) {
      needsResync = false;
      publish({ type: "live.resync" });
    }
  });
  es.addEventListener("error", () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CONNECTING) {
      // The browser resumes after the last event it saw; with none seen yet, it cannot.
      if (!lastId) needsResync = true;
      setState("reconnecting");
      return;
    }
    // CLOSED: the server refused the stream (an ended session answers 401); the browser will not
    // retry, so ask whether the session still holds and open a new one later.
    es.close();
    setState("reconnecting");
    const delay = REOPEN_DELAYS_MS[Math.min(failures, REOPEN_DELAYS_MS.length - 1)];
    failures += 1;
    reopenTimer = setTimeout(async () => {
      if (source !== es) return;
      if (await checkSession().catch(() => true)) open();
    }, delay);
  });
}

/**
 * Opens the live stream for `roomList` (`["admin"]` for admins, network ids otherwise), closing any
 * open one. `sessionHolds()` is asked before reopening a refused stream; answering false stops it.
 */
export function connectLive(roomList, { sessionHolds } = {}) {
  disconnectLive();
  if (roomList.length === 0) return;
  rooms = roomList.slice(0, MAX_ROOMS).join(",");
  if (sessionHolds) checkSession = sessionHolds;
  open();
}

/** Closes the live stream (sign-out) and forgets where it was. */
export function disconnectLive() {
  clearTimeout(reopenTimer);
  source?.close();
  source = null;
  lastId = null;
  failures = 0;
  setState("closed");
}

/** Calls `handler(event)` for each live event until `signal` aborts. */
export function onLive(handler, signal) {
  if (signal?.aborted) return;
  subscribers.add(handler);
  signal?.addEventListener("abort", () => subscribers.delete(handler));
}

/** Calls `watcher(state)` now and on each change of the connection's state. */
export function watchLiveState(watcher) {
  stateWatchers.add(watcher);
  watcher(state);
}

/**
 * Calls `fn` once, `delayMs` after the first of a burst of calls (a hundred nodes going offline at
 * once make one refresh), and not after `signal` aborts.
 */
export function coalesce(fn, delayMs, signal) {
  let timer;
  return () => {
    if (timer !== undefined || signal?.aborted) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!signal?.aborted) fn();
    }, delayMs);
  };
}
