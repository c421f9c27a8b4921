/**
 * One node's settings (admins change them, others read): name, email, routes (extra allowed IPs),
 * enabled or disabled, a new public key (re-key), and delete. Disabling, re-keying and deleting ask
 * first.
 */
import { api } from "../api.js";
import {
  badge,
  confirmDialog,
  copyText,
  errorBox,
  field,
  flash,
  h,
  heading,
  onSubmit,
  replace,
  splitList,
  timeAgo,
} from "../dom.js";

function nodeForm(node, { onSaved }) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "node-edit-title", novalidate: true },
    h("h2", { id: "node-edit-title" }, `Edit ${node.name}`),
    field({ label: "Name", name: "name", required: true, maxLength: 63, value: node.name }),
    field({ label: "Email", name: "email", type: "email", value: node.email ?? "", hint: "Empty: none." }),
    field({
      label: "Routes",
      name: "extraAllowedIps",
      value: node.extraAllowedIps.join(", "),
      placeholder: "192.168.50.0/24",
      hint: "Networks behind this node that the mesh routes to it, comma-separated.",
    }),
    field({
      label: "Enabled",
      name: "enabled",
      type: "checkbox",
      checked: node.status !== "disabled",
      hint: "A disabled node leaves the hub at the next sync; its config stops working until enabled.",
    }),
    field({
      label: "New public key",
      name: "publicKey",
      placeholder: "base64, 44 characters",
      hint: "Re-key: the node's agent or its owner made a new key pair. The old key stops working at once.",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button-primary" }, "Save node")),
  );
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name);
    const body = {};
    const name = el("name").value.trim();
    const email = el("email").value.trim();
    const routes = splitList(el("extraAllowedIps").value);
    const status = el("enabled").checked ? "pending" : "disabled";
    const publicKey = el("publicKey").value.trim();
    if (name !== node.name) body.name = name;
    if ((email || null) !== node.email) body.email = email || null;
    if (routes.join(",") !== node.extraAllowedIps.join(",")) body.extraAllowedIps = routes;
    if ((status === "disabled") !== (node.status === "disabled")) body.status = status;
    if (publicKey) body.publicKey = publicKey;
    if (Object.keys(body).length === 0) {
      flash("Nothing to save.");
      return;
    }
    if (body.status === "disabled" || body.publicKey) {
      const sure = await confirmDialog({
        title: body.publicKey ? `Re-key ${node.name}?` : `Disable ${node.name}?`,
        message: body.publicKey
          ? "Its old key stops working at once: the node connects again only with the new key's private half."
          : "It leaves the hub at the next sync and its config stops working until enabled again.",
        confirmLabel: body.publicKey ? "Re-key node" : "Disable node",
        danger: true,
      });
      if (!sure) return;
    }
    const saved = await api(`/api/v1/nodes/${encodeURIComponent(node.id)}`, { method: "PATCH", body });
    flash(`Node ${saved.name} saved.`);
    onSaved(saved);
  });
}

function facts(node) {
  const fact = (term, value) => h("div", null, h("dt", null, term), h("dd", null, value));
  return h(
    "dl",
    { class: "facts" },
    fact("Status", badge(node.status)),
    fact("Address", h("code", null, node.ip4)),
    node.ip6 ? fact("IPv6", h("code", null, node.ip6)) : null,
    fact("Public key", h("code", null, node.publicKey)),
    fact("Routes", node.extraAllowedIps.length ? node.extraAllowedIps.join(", ") : "none"),
    fact("Last handshake", timeAgo(node.lastHandshakeAt)),
    fact("Last seen", timeAgo(node.lastSeenAt)),
    fact("Config", `version ${node.configVersion}${node.configLagging ? " (agent runs an older one)" : ""}`),
  );
}

/**
 * What a re-key answered, shown once: an agent node rotates at its next heartbeat; a node whose key
 * the server made has its new config emailed, or a one-time link to it (which holds the new private
 * key, so only this answer shows it). Done drops the panel.
 */
function rekeyPanel({ node, mode, emailQueuedTo, configLink }) {
  const says =
    mode === "agent"
      ? "Its agent makes a new key pair at its next heartbeat and moves to it without a gap; the old key leaves the hub once the new one has shaken hands."
      : emailQueuedTo
        ? `The new config is on its way by email to ${emailQueuedTo}. The old key leaves the hub once the new one has shaken hands.`
        : "Open this one-time link on the node (or hand it over) to fetch the new config: it works once and holds the new private key.";
  const panel = h(
    "section",
    { class: "panel once", "aria-labelledby": "rekeyed-title", tabIndex: -1 },
    h("h2", { id: "rekeyed-title" }, `New key of ${node.name}`),
    h("p", { class: "notice" }, says),
    configLink ? h("pre", { class: "config", "aria-label": "One-time link" }, configLink.url) : null,
    h(
      "div",
      { class: "actions" },
      configLink
        ? h(
            "button",
            { type: "button", class: "button-quiet", onclick: () => copyText(configLink.url, "Link") },
            "Copy link",
          )
        : null,
      h("button", { type: "button", onclick: () => panel.remove() }, "Done"),
    ),
  );
  return panel;
}

export async function renderNode({ main, params, session, signal }) {
  const [nodeId] = params;
  const node = await api(`/api/v1/nodes/${encodeURIComponent(nodeId)}`, { signal });
  const network = await api(`/api/v1/networks/${encodeURIComponent(node.networkId)}`, { signal });
  if (signal.aborted) return;
  const networkHash = `#/networks/${network.id}`;
  const factsSlot = h("div", null, facts(node));
  const title = heading(node.name);
  const problem = h("div");

  const deleteButton = h(
    "button",
    {
      type: "button",
      class: "button-danger",
      onclick: async () => {
        const sure = await confirmDialog({
          title: `Delete ${node.name}?`,
          message: "It leaves the hub at the next sync and its config stops working. This cannot be undone.",
          confirmLabel: "Delete node",
          danger: true,
        });
        if (!sure) return;
        try {
          await api(`/api/v1/nodes/${encodeURIComponent(node.id)}`, { method: "DELETE" });
        } catch (err) {
          if (!err?.endedSession) replace(problem, errorBox(err));
          return;
        }
        flash(`Node ${node.name} deleted.`);
        location.hash = networkHash;
      },
    },
    "Delete node",
  );

  const once = h("div");
  const rekeyButton = h(
    "button",
    {
      type: "button",
      class: "button-danger",
      onclick: async () => {
        const sure = await confirmDialog({
          title: `Make a new key pair for ${node.name}?`,
          message: node.hasServerKey
            ? "The server makes a new key pair and issues the new config by email or a one-time link. The old key keeps working until the new one has shaken hands."
            : "The node's agent makes a new key pair at its next heartbeat and moves to it without a gap.",
          confirmLabel: "Make new key pair",
          danger: true,
        });
        if (!sure) return;
        let rekeyed;
        try {
          rekeyed = await api(`/api/v1/nodes/${encodeURIComponent(node.id)}/rekey`, { method: "POST" });
        } catch (err) {
          if (!err?.endedSession) replace(problem, errorBox(err));
          return;
        }
        Object.assign(node, rekeyed.node);
        render(rekeyed.node);
        const panel = rekeyPanel(rekeyed);
        replace(once, panel);
        panel.focus();
        flash(`Node ${node.name} has a new key pair.`);
      },
    },
    "Make new key pair",
  );

  const crumbName = h("span", null, node.name);
  const render = (current) => {
    replace(factsSlot, facts(current));
    title.querySelector("h1").textContent = current.name;
    crumbName.textContent = current.name;
    if (form) form.querySelector("#node-edit-title").textContent = `Edit ${current.name}`;
  };
  const form = session.isAdmin
    ? nodeForm(node, {
        onSaved: (saved) => {
          Object.assign(node, saved);
          form.elements.namedItem("publicKey").value = "";
          render(saved);
        },
      })
    : null;

  replace(
    main,
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/networks" }, "Networks"),
      " / ",
      h("a", { href: networkHash }, network.name),
      " / ",
      crumbName,
    ),
    title,
    problem,
    once,
    factsSlot,
    form,
    session.isAdmin && (node.hasServerKey || node.agentVersion)
      ? h(
          "section",
          { class: "panel", "aria-labelledby": "node-rekey-title" },
          h("h2", { id: "node-rekey-title" }, "Re-key"),
          h(
            "p",
            null,
            node.hasServerKey
              ? "The server holds this node's private key: it can make a new pair and issue the new config."
              : "This node runs an agent: it can make a new pair and move to it without a gap.",
          ),
          h("div", { class: "actions" }, rekeyButton),
        )
      : null,
    session.isAdmin
      ? h(
          "section",
          { class: "panel", "aria-labelledby": "node-danger-title" },
          h("h2", { id: "node-danger-title" }, "Delete"),
          h("p", null, "Removes the node and its key from the network."),
          h("div", { class: "actions" }, deleteButton),
        )
      : null,
  );
}
