/**
 * One network's nodes: list, enroll (the token is shown once; the config with its private key stays
 * downloadable by admins, audited), disable or enable, delete;
 * its usage (chart, month's total, top talkers, CSV); and its hub interface checked for drift. The list follows the live stream: a node event of this
 * network reads the page again and replaces the rows that changed.
 */
import { api, query as toQuery } from "../api.js";
import {
  badge,
  confirmDialog,
  copyText,
  download,
  errorBox,
  field,
  flash,
  h,
  heading,
  labelRow,
  onSubmit,
  pager,
  replace,
  table,
  timeAgo,
} from "../dom.js";
import { coalesce, onLive } from "../live.js";
import { driftPanel } from "./drift.js";
import { usagePanel } from "./usage.js";

const PAGE_SIZE = 50;

function enrollForm(network, onEnrolled) {
  return onSubmit(
    h(
      "form",
      { class: "panel form-grid", "aria-labelledby": "enroll-title" },
      h("h2", { id: "enroll-title" }, "Enroll a node"),
      field({ label: "Name", name: "name", required: true, maxLength: 63, placeholder: "laptop" }),
      field({
        label: "Email",
        name: "email",
        type: "email",
        placeholder: "ada@example.com",
        hint: "Optional.",
      }),
      field({
        label: "Public key",
        name: "publicKey",
        spellcheck: "false",
        autocomplete: "off",
        class: "mono",
        hint: "Optional. Leave empty and the server makes the key pair and holds its private key (admins and the node can download the config; each download is audited).",
      }),
      h("p", { class: "form-error", role: "alert" }),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button-primary" }, "Enroll node")),
    ),
    async (form) => {
      const value = (name) => form.elements.namedItem(name).value.trim();
      const body = { networkId: network.id, name: value("name") };
      if (value("email")) body.email = value("email");
      if (value("publicKey")) body.publicKey = value("publicKey");
      const created = await api("/api/v1/nodes", { method: "POST", body });
      form.reset();
      onEnrolled(created);
    },
  );
}

/**
 * The one-time panel after enrolling: the config (download, copy, QR) and the agent token. Closing
 * it drops them from the page; the QR's blob URL is released.
 */
function enrolledPanel({ node, token, config }, onClose) {
  const filename = `${node.name.replace(/[^A-Za-z0-9._-]+/g, "-")}.conf`;
  let qrUrl;
  const qr = h("div", { class: "qr" }, h("p", { class: "muted" }, "Loading QR code…"));
  const panel = h(
    "section",
    { class: "panel once", "aria-labelledby": "enrolled-title", tabIndex: -1 },
    h("h2", { id: "enrolled-title" }, `Node ${node.name} enrolled`),
    h(
      "p",
      { class: "notice" },
      config
        ? "This config holds the node's private key: keep it safe. Admins can download it again; each download is audited."
        : "The node keeps its own private key; its agent fetches its config with the token below.",
    ),
    config
      ? h(
          "div",
          { class: "config-grid" },
          h(
            "div",
            null,
            h("pre", { class: "config", tabIndex: 0, "aria-label": "WireGuard config" }, config),
            h(
              "div",
              { class: "actions" },
              h(
                "button",
                { type: "button", class: "button-primary", onclick: () => download(config, filename) },
                `Download ${filename}`,
              ),
              h(
                "button",
                { type: "button", class: "button-quiet", onclick: () => copyText(config, "Config") },
                "Copy config",
              ),
            ),
          ),
          qr,
        )
      : null,
    h(
      "div",
      { class: "field" },
      h("label", { for: "enrolled-token" }, "Agent token (shown once)"),
      h(
        "div",
        { class: "inline" },
        h("input", {
          id: "enrolled-token",
          class: "mono",
          readOnly: true,
          value: token,
          spellcheck: "false",
        }),
        h(
          "button",
          { type: "button", class: "button-quiet", onclick: () => copyText(token, "Token") },
          "Copy token",
        ),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            if (qrUrl) URL.revokeObjectURL(qrUrl);
            panel.remove();
            onClose();
          },
        },
        "Done",
      ),
    ),
  );
  if (config) {
    api(`/api/v1/nodes/${encodeURIComponent(node.id)}/config?format=qr`, { as: "blob" })
      .then((blob) => {
        qrUrl = URL.createObjectURL(blob);
        replace(
          qr,
          h("img", {
            src: qrUrl,
            alt: `QR code of ${node.name}'s WireGuard config`,
            width: 220,
            height: 220,
          }),
        );
      })
      .catch((err) => replace(qr, errorBox(err)));
  }
  return panel;
}

async function setStatus(node, status) {
  await api(`/api/v1/nodes/${encodeURIComponent(node.id)}`, { method: "PATCH", body: { status } });
  flash(status === "disabled" ? `Node ${node.name} disabled.` : `Node ${node.name} enabled.`);
}

async function deleteNode(node) {
  const sure = await confirmDialog({
    title: `Delete ${node.name}?`,
    message: "It leaves the hub at the next sync and its config stops working. This cannot be undone.",
    confirmLabel: "Delete node",
    danger: true,
  });
  if (!sure) return false;
  await api(`/api/v1/nodes/${encodeURIComponent(node.id)}`, { method: "DELETE" });
  flash(`Node ${node.name} deleted.`);
  return true;
}

const COLUMNS = ["Name", "Email", "Address", "Status", "Last handshake", "Last seen", "Role", ""];

/** How long a burst of node events is gathered before the list is read again. */
const LIVE_REFRESH_MS = 250;

/**
 * Puts `next` in place of `row`; when the keyboard was on one of its buttons, it moves to the button
 * at the same place in the new row (its label may have changed: Disable became Enable).
 */
function replaceRow(row, next) {
  const buttons = [...row.querySelectorAll("button")];
  const focused = buttons.indexOf(document.activeElement);
  row.replaceWith(next);
  if (focused >= 0) next.querySelectorAll("button")[focused]?.focus();
}

/** "wg-a (serving)", "owner absent (was wg-a)", or "none declared", with the standby when named. */
function describeHub(hub, network) {
  const standby = network.standbyHubId ? `; standby ${network.standbyHubId}` : "";
  if (!hub) return `unknown${standby}`;
  if (hub.state === "serving") return `${hub.holder} (serving)${standby}`;
  if (hub.state === "owner-absent")
    return h(
      "span",
      { class: "badge badge-warn" },
      `owner absent${hub.holder ? ` (was ${hub.holder})` : ""}${standby}`,
    );
  return `none declares it in WG_INTERFACES${standby}`;
}

export async function renderNetwork({ main, params, query, session, signal, setQuery }) {
  const [networkId] = params;
  const offset = Number(query.get("offset") ?? 0) || 0;
  const search = query.get("q") ?? "";
  const pagePath = `/api/v1/nodes${toQuery({ networkId, limit: PAGE_SIZE, offset, q: search })}`;
  const [network, page] = await Promise.all([
    api(`/api/v1/networks/${encodeURIComponent(networkId)}`, { signal }),
    api(pagePath, { signal }),
  ]);
  // Who serves it: in the network's admin read (null for others, shown as unknown).
  const hub = network.hub ?? null;
  if (signal.aborted) return;

  const problem = h("div");
  const once = h("div");
  const listSlot = h("div");

  // Changes refresh the list only, so a one-time config panel stays on screen.
  const refreshList = async () => {
    const latest = await api(pagePath, { signal });
    if (!signal.aborted) updateList(latest);
  };
  const act = (fn) => () =>
    fn()
      .then((changed) => changed !== false && refreshList())
      .catch((err) => replace(problem, errorBox(err)));

  const rowOf = (node) =>
    labelRow(
      h(
        "tr",
        { dataset: { nodeId: node.id } },
        cellsOf(node).map((cell) => h("td", null, cell)),
      ),
      COLUMNS,
    );
  const cellsOf = (node) => [
    h("a", { class: "node-name", href: `#/nodes/${node.id}` }, node.name),
    node.email ?? h("span", { class: "muted" }, "—"),
    h(
      "span",
      null,
      h("code", null, node.ip4),
      node.ip6 ? [h("br"), h("code", { class: "muted" }, node.ip6)] : null,
    ),
    badge(node.status),
    // Seen by the hub's interface (WireGuard's own liveness); "Last seen" is the node's agent.
    timeAgo(node.lastHandshakeAt),
    timeAgo(node.lastSeenAt),
    node.role,
    session.isAdmin
      ? h(
          "div",
          { class: "row-actions" },
          h(
            "button",
            {
              type: "button",
              class: "button-quiet",
              "aria-label": `${node.status === "disabled" ? "Enable" : "Disable"} node ${node.name}`,
              onclick: act(() => setStatus(node, node.status === "disabled" ? "pending" : "disabled")),
            },
            node.status === "disabled" ? "Enable" : "Disable",
          ),
          h(
            "button",
            {
              type: "button",
              class: "button-danger-quiet",
              "aria-label": `Delete node ${node.name}`,
              onclick: act(() => deleteNode(node)),
            },
            "Delete",
          ),
        )
      : "",
  ];

  const searchForm = h(
    "form",
    {
      class: "inline search",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        setQuery({ q: event.target.elements.namedItem("q").value.trim() });
      },
    },
    h("label", { for: "node-search", class: "visually-hidden" }, "Search nodes"),
    h("input", {
      id: "node-search",
      name: "q",
      type: "search",
      value: search,
      placeholder: "Search name, email or IP",
    }),
    h("button", { type: "submit", class: "button-quiet" }, "Search"),
  );

  // Names of the nodes on the page, for the drift panel's keys.
  const names = new Map();
  // The nodes on screen, by id, as last rendered (a row is replaced only when its node changed).
  let shown = new Map();
  function renderList(current) {
    names.clear();
    for (const node of current.items) names.set(node.publicKey, node.name);
    shown = new Map(current.items.map((node) => [node.id, JSON.stringify(node)]));
    replace(
      listSlot,
      searchForm,
      table({
        caption: `Nodes of ${network.name}`,
        columns: COLUMNS,
        rows: current.items.map(rowOf),
        empty: search ? "No node matches." : "No nodes yet. Enroll the first one below.",
      }),
      pager({
        total: current.total,
        limit: PAGE_SIZE,
        offset,
        onPage: (next) => setQuery({ q: search, offset: next }),
        label: "Node pages",
      }),
    );
  }
  renderList(page);

  /** Replaces the rows whose node changed; a node that came or went renders the list anew. */
  function updateList(latest) {
    const sameNodes = latest.items.length === shown.size && latest.items.every((node) => shown.has(node.id));
    if (!sameNodes) return renderList(latest);
    for (const node of latest.items) {
      const json = JSON.stringify(node);
      if (shown.get(node.id) === json) continue;
      shown.set(node.id, json);
      names.set(node.publicKey, node.name);
      const row = listSlot.querySelector(`tr[data-node-id="${CSS.escape(node.id)}"]`);
      if (row) replaceRow(row, rowOf(node));
    }
  }

  const refreshSoon = coalesce(
    () =>
      refreshList().catch((err) => {
        if (err?.name !== "AbortError" && !err?.endedSession) replace(problem, errorBox(err));
      }),
    LIVE_REFRESH_MS,
    signal,
  );
  onLive((event) => {
    if (event.type === "live.resync") refreshSoon();
    else if (event.type.startsWith("node.") && event.data?.network?.id === networkId) refreshSoon();
  }, signal);

  const form = session.isAdmin
    ? enrollForm(network, (created) => {
        // Done drops the secrets and puts the keyboard back where the next enrollment starts.
        const panel = enrolledPanel(created, () => form.elements.namedItem("name").focus());
        replace(once, panel);
        panel.focus();
        flash(`Node ${created.node.name} enrolled.`);
        refreshList().catch((err) => replace(problem, errorBox(err)));
      })
    : null;

  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/networks" }, "Networks"), " / ", network.name),
    heading(
      `Nodes of ${network.name}`,
      session.isAdmin
        ? h("a", { class: "button-quiet", href: `#/networks/${network.id}/settings` }, "Network settings")
        : null,
    ),
    h(
      "dl",
      { class: "facts" },
      h("div", null, h("dt", null, "IPv4"), h("dd", null, h("code", null, network.cidr4))),
      network.cidr6
        ? h("div", null, h("dt", null, "IPv6"), h("dd", null, h("code", null, network.cidr6)))
        : null,
      h("div", null, h("dt", null, "Topology"), h("dd", null, network.topology)),
      h("div", null, h("dt", null, "Endpoint"), h("dd", null, network.endpoint ?? "not set")),
      h("div", null, h("dt", null, "Hub key"), h("dd", null, h("code", null, network.hubPublicKey))),
      h("div", null, h("dt", null, "Hub host"), h("dd", { class: "hub-host" }, describeHub(hub, network))),
    ),
    problem,
    once,
    listSlot,
    usagePanel({ network, nodes: page.items, signal }),
    driftPanel({ network, session, signal, nameOf: (key) => names.get(key) }),
    form,
  );
}
