/**
 * Overview: service health, the size of the mesh, recent sync runs, and a full sync to run and
 * follow. Live: node events update the counts, and a run started anywhere is followed here.
 */
import { api } from "../api.js";
import { badge, errorBox, flash, formatDuration, h, heading, replace, table, timeAgo } from "../dom.js";
import { coalesce, onLive } from "../live.js";
import { FINISHED, followRun, waker } from "../runs.js";

/** Readiness answers 503 with the same body when a dependency is down; both are worth showing. */
async function readiness(signal) {
  try {
    const res = await fetch("/health/ready", { signal, cache: "no-store" });
    return await res.json();
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    return { status: "unavailable", checks: {}, failed: ["api"], detail: "the API does not answer" };
  }
}

function healthCard(ready) {
  const checks = Object.entries(ready.checks ?? {});
  return h(
    "section",
    { class: "panel", "aria-labelledby": "health-title" },
    h("h2", { id: "health-title" }, "Service health ", badge(ready.status === "ok" ? "ok" : "unavailable")),
    h(
      "ul",
      { class: "checks" },
      checks.map(([name, check]) =>
        h(
          "li",
          null,
          h("span", { class: "check-name" }, name),
          badge(check.ok ? "ok" : "failed"),
          h("span", { class: "muted" }, `${check.latencyMs} ms`),
          check.error ? h("span", { class: "check-error" }, check.error) : null,
        ),
      ),
    ),
    ready.detail && checks.length === 0 ? h("p", { class: "check-error" }, ready.detail) : null,
  );
}

function meshCard(networks, online) {
  const nodes = networks.reduce((sum, n) => sum + (n.nodeCount ?? 0), 0);
  const stat = (label, value, href) =>
    h(
      "div",
      { class: "stat" },
      h("dt", null, label),
      h("dd", null, href ? h("a", { href }, String(value)) : String(value)),
    );
  return h(
    "section",
    { class: "panel", "aria-labelledby": "mesh-title" },
    h("h2", { id: "mesh-title" }, "Mesh"),
    h(
      "dl",
      { class: "stats" },
      stat("Networks", networks.length, "#/networks"),
      stat("Nodes", nodes),
      stat("Online", online),
    ),
  );
}

export function runsTable(runs) {
  return table({
    caption: "Recent sync runs",
    columns: ["Started", "Type", "Status", "Items", "Requested by", "Took"],
    empty: "No sync has run yet.",
    rows: runs.map((run) => [
      timeAgo(run.createdAt),
      run.type,
      badge(run.status),
      `${run.itemsSynced} synced, ${run.itemsFailed} failed of ${run.itemsTotal}`,
      run.requestedBy ?? "—",
      formatDuration(run.startedAt, run.completedAt),
    ]),
  });
}

/**
 * Follows a run until it finishes or the view goes away (live events about it wake the read); shows
 * its progress and offers Cancel while it can still stop.
 */
async function follow(runId, { panel, session, signal, onFinished }) {
  const title = h("h2", null, "Sync");
  const statusLine = h("p", { class: "sync-status", "aria-live": "polite" });
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Sync progress" });
  const counts = h("p", { class: "muted" });
  const problem = h("div");
  const alarm = waker(signal);
  const cancel = h("button", { type: "button", class: "button-quiet", hidden: !session.isAdmin }, "Cancel");
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      await api(`/api/v1/sync/cancel/${encodeURIComponent(runId)}`, { method: "POST", signal });
      flash("Cancel requested: the run stops at its next checkpoint.");
      // A cancel sends no event: read the run again now.
      alarm.wake();
    } catch (err) {
      if (err?.name !== "AbortError") replace(problem, errorBox(err));
    }
  });
  panel.hidden = false;
  replace(panel, title, statusLine, bar, counts, problem, h("div", { class: "actions" }, cancel));

  let lastStatus;
  const show = (run) => {
    replace(title, runTitle(run.type));
    if (run.status !== lastStatus) {
      replace(statusLine, badge(run.status), " ", statusText(run));
      lastStatus = run.status;
    }
    const done = run.itemsSynced + run.itemsFailed;
    bar.max = Math.max(1, run.itemsTotal);
    bar.value = run.status === "COMPLETED" ? bar.max : done;
    replace(
      counts,
      `${run.itemsSynced} synced, ${run.itemsFailed} failed of ${run.itemsTotal} items · ${formatDuration(run.startedAt ?? run.createdAt, run.completedAt)}`,
    );
    if (run.error) replace(problem, h("p", { class: "check-error" }, run.error));
    if (FINISHED.has(run.status)) cancel.hidden = true;
    else cancel.disabled = run.cancelRequested;
  };

  let finished;
  try {
    finished = await followRun(runId, signal, { onRun: show, alarm });
  } catch (err) {
    if (err?.name !== "AbortError" && !err?.endedSession) replace(problem, errorBox(err));
    return;
  }
  if (finished) onFinished(finished);
}

const RUN_TITLES = {
  full: "Full sync",
  peers: "Peer sync",
  configs: "Config sync",
  usage: "Usage collection",
  "drift-fix": "Drift fix",
};

function runTitle(type) {
  return RUN_TITLES[type] ?? `${type} sync`;
}

function statusText(run) {
  switch (run.status) {
    case "PENDING":
      return "Waiting for a worker…";
    case "RUNNING":
      return "Running…";
    case "COMPLETED":
      return "Finished.";
    case "FAILED":
      return "Failed.";
    case "CANCELLED":
      return "Cancelled.";
    default:
      return "";
  }
}

/** How long a burst of events is gathered before the counts or the run list are read again. */
const LIVE_REFRESH_MS = 250;

export async function renderOverview({ main, session, signal }) {
  const [ready, networks, online, runs] = await Promise.all([
    readiness(signal),
    api("/api/v1/networks", { signal }),
    api("/api/v1/nodes?status=online&limit=1", { signal }),
    api("/api/v1/sync/logs?limit=5", { signal }),
  ]);
  if (signal.aborted) return;

  const meshSlot = h("div", { class: "card-slot" }, meshCard(networks, online.total));
  const runsSlot = h("div", null, runsTable(runs.items));
  const progress = h("section", {
    class: "panel sync-progress",
    hidden: true,
    "aria-label": "Sync in progress",
  });
  const runButton = h(
    "button",
    { type: "button", class: "button-primary", hidden: !session.isAdmin },
    "Run full sync",
  );
  const runError = h("div");
  // The run on the progress panel; one at a time.
  let followed;

  const refreshMesh = async () => {
    const [latestNetworks, latestOnline] = await Promise.all([
      api("/api/v1/networks", { signal }),
      api("/api/v1/nodes?status=online&limit=1", { signal }),
    ]);
    if (!signal.aborted) replace(meshSlot, meshCard(latestNetworks, latestOnline.total));
  };
  const refreshRuns = async () => {
    const latest = await api("/api/v1/sync/logs?limit=5", { signal });
    if (signal.aborted) return;
    replace(runsSlot, runsTable(latest.items));
    const active = latest.items.find((run) => !FINISHED.has(run.status));
    if (active) followOnPanel(active.id);
  };
  const followOnPanel = async (runId) => {
    if (followed) return;
    followed = runId;
    runButton.disabled = true;
    await follow(runId, {
      panel: progress,
      session,
      signal,
      onFinished: (run) => {
        flash(
          `${runTitle(run.type)} ${run.status.toLowerCase()}.`,
          run.status === "COMPLETED" ? "good" : "bad",
        );
      },
    });
    followed = undefined;
    runButton.disabled = false;
    // The run list shows how it ended, and follows a run that started meanwhile.
    refreshRuns().catch(() => {});
  };

  runButton.addEventListener("click", async () => {
    runError.replaceChildren();
    runButton.disabled = true;
    try {
      const accepted = await api("/api/v1/sync/full", { method: "POST", body: {}, signal });
      refreshRuns().catch(() => {});
      await followOnPanel(accepted.sync_log_id);
    } catch (err) {
      runButton.disabled = false;
      if (err?.name !== "AbortError" && !err?.endedSession) replace(runError, errorBox(err));
    }
  });

  const meshSoon = coalesce(() => refreshMesh().catch(() => {}), LIVE_REFRESH_MS, signal);
  const runsSoon = coalesce(() => refreshRuns().catch(() => {}), LIVE_REFRESH_MS, signal);
  onLive((event) => {
    if (event.type === "live.resync") {
      meshSoon();
      runsSoon();
    } else if (event.type.startsWith("node.")) meshSoon();
    // A run started anywhere (another tab, the API, the scheduler) shows its progress here.
    else if (event.type === "sync.started") {
      runsSoon();
      if (event.data?.run?.id) followOnPanel(event.data.run.id);
    } else if (event.type.startsWith("sync.")) runsSoon();
  }, signal);

  replace(
    main,
    heading("Overview", session.isAdmin ? runButton : null),
    runError,
    progress,
    h("div", { class: "cards" }, healthCard(ready), meshSlot),
    h(
      "section",
      { "aria-labelledby": "recent-runs-title" },
      h(
        "div",
        { class: "section-head" },
        h("h2", { id: "recent-runs-title" }, "Recent sync runs"),
        h("a", { href: "#/sync" }, "All sync runs →"),
      ),
      runsSlot,
    ),
  );

  // A run still going from before (another tab, a reload) is followed here too.
  const active = runs.items.find((run) => !FINISHED.has(run.status));
  if (active) followOnPanel(active.id);
}
