/**
 * Enrollment keys: create (the key and the agent command line that uses it are shown once), list by
 * network, revoke.
 */
import { api, query as toQuery } from "../api.js";
import {
  badge,
  confirmDialog,
  copyText,
  field,
  flash,
  h,
  listPage,
  onSubmit,
  rowButton,
  table,
  timeAgo,
} from "../dom.js";

function statusOf(key) {
  if (key.revokedAt) return "revoked";
  if (key.expiresAt && new Date(key.expiresAt).getTime() <= Date.now()) return "expired";
  return key.usable ? "usable" : "used up";
}

function keyForm(networks, selected, onCreated) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, "New enrollment key"),
    field({
      label: "Network",
      name: "networkId",
      type: "select",
      required: true,
      options: networks.map((n) => [n.id, n.name]),
      value: selected || networks[0]?.id,
    }),
    field({
      label: "Role",
      name: "role",
      type: "select",
      options: [
        ["peer", "Peer"],
        ["relay", "Relay"],
      ],
      value: "peer",
    }),
    field({
      label: "Reusable",
      name: "reusable",
      type: "checkbox",
      hint: "Unticked: the key enrolls one node.",
    }),
    field({
      label: "Maximum uses",
      name: "maxUses",
      type: "number",
      min: 1,
      hint: "For a reusable key. Empty: no limit.",
    }),
    field({
      label: "Expires at",
      name: "expiresAt",
      type: "datetime-local",
      hint: "Optional; your local time.",
    }),
    field({
      label: "Description",
      name: "description",
      maxLength: 200,
      placeholder: "Berlin office laptops",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button-primary" }, "Create key")),
  );
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name);
    const body = {
      networkId: el("networkId").value,
      role: el("role").value,
      reusable: el("reusable").checked,
    };
    if (el("maxUses").value) body.maxUses = Number(el("maxUses").value);
    if (el("expiresAt").value) body.expiresAt = new Date(el("expiresAt").value).toISOString();
    if (el("description").value.trim()) body.description = el("description").value.trim();
    const created = await api("/api/v1/enrollment-keys", { method: "POST", body });
    form.reset();
    onCreated(created);
  });
}

function createdPanel(key, networkName) {
  const panel = h(
    "section",
    { class: "panel once", "aria-labelledby": "new-key-shown", tabIndex: -1 },
    h("h2", { id: "new-key-shown" }, `Enrollment key for ${networkName}`),
    h(
      "p",
      { class: "notice" },
      "Copy this key now: it is shown only once. Nodes register with it as a Bearer token.",
    ),
    h(
      "div",
      { class: "inline" },
      h("label", { for: "new-key-value", class: "visually-hidden" }, "Enrollment key"),
      h("input", { id: "new-key-value", class: "mono", readOnly: true, value: key.key, spellcheck: "false" }),
      h(
        "button",
        { type: "button", class: "button-quiet", onclick: () => copyText(key.key, "Key") },
        "Copy key",
      ),
    ),
    h("h3", { id: "agent-command-title" }, "Run an agent with it"),
    h(
      "p",
      null,
      "On each machine to enroll, as root, with the agent installed (wiresync-agent, see the README), paste this line. It holds the key: shown once too.",
    ),
    h(
      "pre",
      { class: "config wrap", "aria-labelledby": "agent-command-title" },
      h("code", null, key.agentCommand),
    ),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        { type: "button", class: "button-quiet", onclick: () => copyText(key.agentCommand, "Command") },
        "Copy command",
      ),
      h("button", { type: "button", onclick: () => panel.remove() }, "Done"),
    ),
  );
  return panel;
}

export async function renderEnrollmentKeys({ main, query, session, signal, setQuery }) {
  const networkId = query.get("network") ?? "";
  const networks = await api("/api/v1/networks", { signal });
  if (signal.aborted) return;
  const names = new Map(networks.map((n) => [n.id, n.name]));

  async function revoke(key) {
    const sure = await confirmDialog({
      title: `Revoke ${key.prefix}…?`,
      message: "No node can enroll with it any more. Nodes it enrolled stay.",
      confirmLabel: "Revoke key",
      danger: true,
    });
    if (!sure) return;
    await api(`/api/v1/enrollment-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
    flash(`Key ${key.prefix}… revoked.`);
    await page.refresh();
  }

  const filter = h(
    "div",
    { class: "inline" },
    h("label", { for: "key-network-filter" }, "Network"),
    h(
      "select",
      { id: "key-network-filter", onchange: (event) => setQuery({ network: event.target.value }) },
      h("option", { value: "" }, "All networks"),
      networks.map((n) => h("option", { value: n.id, selected: n.id === networkId }, n.name)),
    ),
  );

  const page = await listPage({
    main,
    title: "Enrollment keys",
    headExtra: filter,
    signal,
    load: () => api(`/api/v1/enrollment-keys${toQuery({ networkId })}`, { signal }),
    render: (list) =>
      table({
        caption: "Enrollment keys",
        columns: ["Key", "Network", "Description", "Role", "Uses", "Expires", "Status", "Created", ""],
        empty: "No enrollment keys.",
        rows: list.map((key) => [
          h("code", null, `${key.prefix}…`),
          names.get(key.networkId) ?? key.networkId,
          key.description ?? h("span", { class: "muted" }, "—"),
          key.role,
          `${key.uses} of ${key.maxUses ?? "∞"}`,
          timeAgo(key.expiresAt, "never"),
          badge(statusOf(key)),
          timeAgo(key.createdAt),
          session.isAdmin && !key.revokedAt
            ? rowButton("Revoke", `Revoke key ${key.prefix}`, () => revoke(key).catch(page.showProblem), {
                danger: true,
              })
            : "",
        ]),
      }),
    after: !session.isAdmin
      ? null
      : networks.length === 0
        ? h(
            "p",
            { class: "panel" },
            "Create a network first: ",
            h("a", { href: "#/networks" }, "Networks"),
            ".",
          )
        : keyForm(networks, networkId, (created) => {
            page.showOnce(createdPanel(created, names.get(created.networkId) ?? ""));
            flash("Enrollment key created.");
            page.refresh();
          }),
  });
}
