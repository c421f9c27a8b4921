/** Sync runs: a paged list filtered by type; each run opens to show what it did item by item. */
import { api, query as toQuery } from "../api.js";
import {
  badge,
  errorBox,
  flash,
  formatDuration,
  h,
  listPage,
  pager,
  replace,
  table,
  timeAgo,
  timeAt,
} from "../dom.js";
import { coalesce, onLive } from "../live.js";
import { FINISHED } from "../runs.js";

const PAGE_SIZE = 20;
const TYPES = ["full", "peers", "configs", "usage", "drift-fix"];

function details(run, { session, onChanged }) {
  const problem = h("div");
  const cancel =
    session.isAdmin && !FINISHED.has(run.status)
      ? h(
          "button",
          {
            type: "button",
            class: "button-quiet",
            disabled: run.cancelRequested,
            onclick: async (event) => {
              event.currentTarget.disabled = true;
              try {
                await api(`/api/v1/sync/cancel/${encodeURIComponent(run.id)}`, { method: "POST" });
                flash("Cancel requested: the run stops at its next checkpoint.");
                onChanged();
              } catch (err) {
                replace(problem, errorBox(err));
              }
            },
          },
          run.cancelRequested ? "Cancel requested" : "Cancel run",
        )
      : null;
  return h(
    "div",
    { class: "run-details" },
    h(
      "dl",
      { class: "facts" },
      h("div", null, h("dt", null, "Run"), h("dd", null, h("code", null, run.id))),
      h("div", null, h("dt", null, "Requested"), h("dd", null, timeAt(run.createdAt))),
      h("div", null, h("dt", null, "Started"), h("dd", null, timeAt(run.startedAt))),
      h("div", null, h("dt", null, "Finished"), h("dd", null, timeAt(run.completedAt))),
    ),
    run.error ? h("p", { class: "check-error" }, run.error) : null,
    problem,
    table({
      caption: "Items of the run",
      columns: ["Kind", "Item", "Result", "Note"],
      empty: "No items recorded.",
      rows: run.items.map((item) => [
        item.kind,
        item.name ?? item.id,
        badge(item.ok ? "ok" : "failed"),
        item.note,
      ]),
    }),
    cancel ? h("div", { class: "actions" }, cancel) : null,
  );
}

/** How long a burst of sync events is gathered before the page is read again. */
const LIVE_REFRESH_MS = 250;

/**
 * The list follows the live stream: a sync event (started, progress, completed, failed) reads the
 * page again, keeping open the details that were open.
 */
export async function renderSyncRuns({ main, query, session, signal, setQuery }) {
  const type = TYPES.includes(query.get("type")) ? query.get("type") : "";
  const offset = Number(query.get("offset") ?? 0) || 0;
  const pagePath = `/api/v1/sync/logs${toQuery({ type, limit: PAGE_SIZE, offset })}`;

  /** Ids of the runs whose details are open. */
  const opened = new Set();
  let page;
  const refresh = () => page?.refresh();

  function rowsOf(run) {
    const detailId = `run-${run.id}`;
    const detailRow = h("tr", { id: detailId, class: "detail-row", hidden: true }, h("td", { colSpan: 7 }));
    const toggle = h(
      "button",
      {
        type: "button",
        class: "button-quiet",
        "aria-expanded": "false",
        "aria-controls": detailId,
        "aria-label": `Details of the ${run.type} run from ${new Date(run.createdAt).toLocaleString()}`,
      },
      "Details",
    );
    const setOpen = (open) => {
      detailRow.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Hide" : "Details";
      if (open) {
        opened.add(run.id);
        replace(detailRow.firstChild, details(run, { session, onChanged: refresh }));
      } else opened.delete(run.id);
    };
    toggle.addEventListener("click", () => setOpen(detailRow.hidden));
    if (opened.has(run.id)) setOpen(true);
    return [
      h(
        "tr",
        { dataset: { runId: run.id } },
        [
          timeAgo(run.createdAt),
          run.type,
          badge(run.status),
          `${run.itemsSynced} / ${run.itemsFailed} / ${run.itemsTotal}`,
          run.requestedBy ?? "—",
          formatDuration(run.startedAt, run.completedAt),
          toggle,
        ].map((cell) => h("td", null, cell)),
      ),
      detailRow,
    ];
  }

  function render(current) {
    // Keep the keyboard where it was when the rows are redrawn under it (once they are in place).
    const focusedRun = document.activeElement?.closest?.("tr[data-run-id]")?.dataset.runId;
    if (focusedRun)
      queueMicrotask(() => main.querySelector(`tr[data-run-id="${CSS.escape(focusedRun)}"] button`)?.focus());
    return [
      table({
        caption: "Sync runs",
        columns: ["Requested", "Type", "Status", "Synced / failed / total", "Requested by", "Took", ""],
        empty: type ? `No ${type} runs.` : "No sync has run yet. Start one from the overview.",
        rows: current.items.flatMap(rowsOf),
      }),
      pager({
        total: current.total,
        limit: PAGE_SIZE,
        offset,
        onPage: (next) => setQuery({ type, offset: next }),
        label: "Sync run pages",
      }),
    ];
  }

  const filter = h(
    "div",
    { class: "inline" },
    h("label", { for: "sync-type-filter" }, "Type"),
    h(
      "select",
      { id: "sync-type-filter", onchange: (event) => setQuery({ type: event.target.value }) },
      h("option", { value: "" }, "All types"),
      TYPES.map((t) => h("option", { value: t, selected: t === type }, t)),
    ),
  );

  // A failed refresh shows its error above the list; the next one that succeeds clears it.
  page = await listPage({
    main,
    title: "Sync runs",
    headExtra: filter,
    load: () => api(pagePath, { signal }),
    render,
    signal,
  });
  if (signal.aborted) return;

  const refreshSoon = coalesce(refresh, LIVE_REFRESH_MS, signal);
  onLive((event) => {
    if (event.type === "live.resync" || event.type.startsWith("sync.")) refreshSoon();
  }, signal);
}
