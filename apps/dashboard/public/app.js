/**
 * The dashboard's shell: who is signed in, the hash router, and the view on screen. Views are
 * modules exporting `render(ctx)`; the context's `signal` aborts when the user navigates away, which
 * stops their requests and polling.
 */
import { api, setUnauthenticatedHandler } from "./api.js";
import { confirmDialog, errorBox, flash, h, heading, refreshTimes, replace } from "./dom.js";
import { connectLive, disconnectLive, MAX_ROOMS, watchLiveState } from "./live.js";
import { startNotices } from "./notices.js";
import { renderSignIn } from "./sign-in.js";
import { renderApiKeys } from "./views/api-keys.js";
import { renderAudit } from "./views/audit.js";
import { renderEmails } from "./views/emails.js";
import { renderEnrollmentKeys } from "./views/enrollment-keys.js";
import { renderNetwork } from "./views/network.js";
import { renderNetworkSettings } from "./views/network-settings.js";
import { renderNetworks } from "./views/networks.js";
import { renderNode } from "./views/node.js";
import { renderOverview } from "./views/overview.js";
import { renderSettings } from "./views/settings.js";
import { renderSyncRuns } from "./views/sync-runs.js";
import { renderUsers } from "./views/users.js";
import { renderWebhooks } from "./views/webhooks.js";

const ROUTES = [
  { pattern: /^\/$/, nav: "#/", title: "Overview", render: renderOverview },
  { pattern: /^\/networks$/, nav: "#/networks", title: "Networks", render: renderNetworks },
  { pattern: /^\/networks\/([0-9a-f-]{36})$/, nav: "#/networks", title: "Nodes", render: renderNetwork },
  {
    pattern: /^\/networks\/([0-9a-f-]{36})\/settings$/,
    nav: "#/networks",
    title: "Network settings",
    render: renderNetworkSettings,
    adminOnly: true,
  },
  { pattern: /^\/nodes\/([0-9a-f-]{36})$/, nav: "#/networks", title: "Node", render: renderNode },
  {
    pattern: /^\/enrollment-keys$/,
    nav: "#/enrollment-keys",
    title: "Enrollment keys",
    render: renderEnrollmentKeys,
  },
  { pattern: /^\/sync$/, nav: "#/sync", title: "Sync runs", render: renderSyncRuns },
  { pattern: /^\/webhooks$/, nav: "#/webhooks", title: "Webhooks", render: renderWebhooks, adminOnly: true },
  { pattern: /^\/api-keys$/, nav: "#/api-keys", title: "API keys", render: renderApiKeys, adminOnly: true },
  { pattern: /^\/users$/, nav: "#/users", title: "Users", render: renderUsers, adminOnly: true },
  { pattern: /^\/emails$/, nav: "#/emails", title: "Emails sent", render: renderEmails, adminOnly: true },
  { pattern: /^\/settings$/, nav: "#/settings", title: "Settings", render: renderSettings, adminOnly: true },
  { pattern: /^\/audit$/, nav: "#/audit", title: "Audit log", render: renderAudit, adminOnly: true },
];

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");

/** `{ kind, name, scopes, isAdmin }` of the signed-in browser, or null. */
let session = null;
/** Aborts the view on screen. */
let current = null;
/** Aborts what lives as long as the session: the live stream's notices. */
let shellScope = null;
let isFirstView = true;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(search) };
}

/** Changes the query of the current view (filters, pages); the router renders it again. */
function setQuery(params) {
  const { path } = parseHash();
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "" && value !== 0) search.set(key, String(value));
  }
  const text = search.toString();
  location.hash = `#${path}${text ? `?${text}` : ""}`;
}

function toSession(me) {
  if (me.email) {
    const scopes = me.role === "admin" ? ["admin", "read"] : ["read"];
    return { kind: "user", name: me.email, scopes, isAdmin: me.role === "admin" };
  }
  const name = me.name ?? (me.kind === "bootstrap" ? "bootstrap key" : "API key");
  return { kind: me.kind, name, scopes: me.scopes, isAdmin: me.scopes.includes("admin") };
}

async function show() {
  if (!session) return;
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { path, query } = parseHash();
  const route = ROUTES.find((r) => r.pattern.test(path));

  for (const link of document.querySelectorAll("#nav a")) {
    if (route && link.getAttribute("href") === route.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = route ? `${route.title} · wiresync` : "Not found · wiresync";

  if (!route || (route.adminOnly && !session.isAdmin)) {
    replace(
      main,
      heading(route ? "Admins only" : "Page not found"),
      h(
        "p",
        null,
        route ? "This page needs an admin session. " : "There is no page at this address. ",
        h("a", { href: "#/" }, "Go to the overview"),
      ),
    );
    return;
  }
  const params = path.match(route.pattern).slice(1);
  replace(main, h("p", { class: "loading" }, "Loading…"));
  try {
    await route.render({ main, params, query, session, signal: controller.signal, setQuery, refresh: show });
    if (controller.signal.aborted) return;
    // Move focus to the new view's heading so keyboard and screen-reader users start there.
    if (!isFirstView) main.querySelector("h1")?.focus();
    isFirstView = false;
  } catch (err) {
    if (controller.signal.aborted || err?.name === "AbortError" || err?.endedSession) return;
    replace(main, heading("Something went wrong"), errorBox(err));
  }
}

function showShell() {
  topbar.hidden = false;
  const who = document.getElementById("who");
  replace(who, h("span", { class: "visually-hidden" }, "Signed in as "), session.name);
  if (!session.isAdmin) who.append(" ", h("span", { class: "badge badge-muted" }, "read-only"));
  for (const el of document.querySelectorAll("[data-admin-only]")) el.hidden = !session.isAdmin;
  // Only a user has sessions to revoke everywhere; an API key is revoked by an admin instead.
  for (const el of document.querySelectorAll("[data-user-only]")) el.hidden = session.kind !== "user";
  shellScope?.abort();
  shellScope = new AbortController();
  startNotices(document.getElementById("notices"), shellScope.signal);
  startLive(shellScope.signal);
  show();
}

/**
 * Opens the live stream: an admin joins the `admin` room (every event); a read-only session the
 * rooms of the networks it can read (as many as one stream URL can name).
 */
async function startLive(signal) {
  let rooms = ["admin"];
  if (!session.isAdmin) {
    try {
      const networks = await api("/api/v1/networks", { signal });
      rooms = networks.slice(0, MAX_ROOMS).map((n) => n.id);
    } catch {
      return;
    }
  }
  if (signal.aborted) return;
  connectLive(rooms, {
    // A refused stream: a 401 here sends the app back to sign-in, which closes the stream.
    sessionHolds: async () => {
      try {
        await api("/api/auth/me");
        return true;
      } catch (err) {
        return !err?.endedSession;
      }
    },
  });
}

const LIVE_LABELS = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Not live",
};

watchLiveState((state) => {
  const indicator = document.getElementById("live-state");
  indicator.dataset.state = state;
  indicator.textContent = LIVE_LABELS[state];
  indicator.title =
    state === "open"
      ? "Changes appear here as they happen."
      : "Changes appear again once the connection is back; nothing is lost meanwhile.";
});

// Relative times ("2 minutes ago") age on screen, whether or not an event comes.
setInterval(() => refreshTimes(document.body), 15_000);

function showSignIn(message) {
  current?.abort();
  shellScope?.abort();
  shellScope = null;
  disconnectLive();
  session = null;
  topbar.hidden = true;
  document.title = "Sign in · wiresync";
  renderSignIn(main, {
    message,
    onSignedIn(owner) {
      session = toSession(owner);
      isFirstView = true;
      showShell();
    },
  });
}

setUnauthenticatedHandler(() => {
  if (session) showSignIn("Your session has ended. Sign in again.");
});

/** Ends the session with one API call, then shows the sign-in form with `done`. */
async function signOut(path, method, done, failed) {
  try {
    await api(path, { method });
  } catch (err) {
    flash(err.detail ?? failed, "bad");
    return;
  }
  showSignIn(done);
}

document
  .getElementById("sign-out")
  .addEventListener("click", () =>
    signOut("/api/auth/session", "DELETE", "You are signed out.", "Could not sign out."),
  );

document.getElementById("sign-out-everywhere").addEventListener("click", async () => {
  const confirmed = await confirmDialog({
    title: "Sign out everywhere?",
    message:
      "Every session of yours ends at once, in every browser and app, this one included. Sign in again afterwards.",
    confirmLabel: "Sign out everywhere",
    danger: true,
  });
  if (!confirmed) return;
  await signOut(
    "/api/auth/sessions/revoke",
    "POST",
    "You are signed out everywhere.",
    "Could not sign out everywhere.",
  );
});

window.addEventListener("hashchange", () => show());

async function boot() {
  try {
    session = toSession(await api("/api/auth/me", { quiet401: true }));
  } catch (err) {
    if (err?.status === 401) return showSignIn();
    replace(main, heading("wiresync"), errorBox(err));
    return;
  }
  showShell();
}

boot();
