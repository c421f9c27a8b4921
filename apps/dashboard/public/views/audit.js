/** Audit log: who changed what, newest first, paged, filtered by the kind of thing changed. */
import { api, query as toQuery } from "../api.js";
import { h, heading, pager, replace, table, timeAt } from "../dom.js";

const PAGE_SIZE = 50;
const ENTITY_TYPES = [
  ["network", "Networks"],
  ["node", "Nodes"],
  ["enrollment_key", "Enrollment keys"],
  ["api_key", "API keys"],
  ["user", "Users"],
];

/** Details as `key: value` lines; values that are objects as compact JSON. Always text. */
function describe(details) {
  const entries = Object.entries(details ?? {});
  if (entries.length === 0) return h("span", { class: "muted" }, "—");
  return h(
    "dl",
    { class: "details" },
    entries.map(([key, value]) =>
      h(
        "div",
        null,
        h("dt", null, key),
        h("dd", null, typeof value === "string" ? value : JSON.stringify(value)),
      ),
    ),
  );
}

export async function renderAudit({ main, query, signal, setQuery }) {
  const entityType = ENTITY_TYPES.some(([t]) => t === query.get("entity")) ? query.get("entity") : "";
  const offset = Number(query.get("offset") ?? 0) || 0;
  const page = await api(`/api/admin/audit${toQuery({ entityType, limit: PAGE_SIZE, offset })}`, { signal });
  if (signal.aborted) return;

  const filter = h(
    "div",
    { class: "inline" },
    h("label", { for: "audit-entity-filter" }, "Changes to"),
    h(
      "select",
      { id: "audit-entity-filter", onchange: (event) => setQuery({ entity: event.target.value }) },
      h("option", { value: "" }, "Everything"),
      ENTITY_TYPES.map(([value, label]) => h("option", { value, selected: value === entityType }, label)),
    ),
  );

  replace(
    main,
    heading("Audit log", filter),
    table({
      caption: "Audit log",
      columns: ["When", "Who", "What", "Which", "Details"],
      empty: "Nothing recorded yet.",
      rows: page.items.map((entry) => [
        timeAt(entry.at),
        entry.actor,
        h("code", null, entry.action),
        entry.entityId ? h("code", { title: entry.entityType }, entry.entityId) : entry.entityType,
        describe(entry.details),
      ]),
    }),
    pager({
      total: page.total,
      limit: PAGE_SIZE,
      offset,
      onPage: (next) => setQuery({ entity: entityType, offset: next }),
      label: "Audit log pages",
    }),
  );
}
