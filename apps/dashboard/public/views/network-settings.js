/**
 * A network's settings (admins only): name, hub listen port and endpoint, DNS, MTU, keepalive and
 * the default monthly quota, as the API validates them; and deleting the network (asked first; the
 * API refuses while it has nodes).
 */
import { api } from "../api.js";
import { confirmDialog, errorBox, field, flash, h, heading, onSubmit, replace, splitList } from "../dom.js";

const GIB = 1024 ** 3;

/** A number field's value: null when empty, a number when numeric, else the text (the API names it). */
function numberOrNull(text) {
  const raw = text.trim();
  if (raw === "") return null;
  return Number.isNaN(Number(raw)) ? raw : Number(raw);
}

/** The fields of `edited` whose value differs from `network`'s (lists compared item by item). */
function changedFields(network, edited) {
  const same = (a, b) => (Array.isArray(a) ? JSON.stringify(a) === JSON.stringify(b) : a === b);
  return Object.fromEntries(
    Object.entries(edited).filter(([key, value]) => !same(value, network[key] ?? null)),
  );
}

/** The form; a save sends only the fields changed since the network was read (or last saved). */
function networkForm(network, onSaved) {
  let current = network;
  const quotaGib =
    network.defaultMonthlyQuotaBytes === null ? "" : String(network.defaultMonthlyQuotaBytes / GIB);
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "network-edit-title", novalidate: true },
    h("h2", { id: "network-edit-title" }, "Network settings"),
    field({ label: "Name", name: "name", required: true, maxLength: 63, value: network.name }),
    field({
      label: "Listen port",
      name: "listenPort",
      type: "number",
      required: true,
      value: String(network.listenPort),
    }),
    field({
      label: "Endpoint",
      name: "endpoint",
      value: network.endpoint ?? "",
      placeholder: "vpn.example.com:51820",
      hint: "Where nodes reach the hub. Empty: not set.",
    }),
    field({
      label: "DNS",
      name: "dns",
      value: network.dns.join(", "),
      placeholder: "10.10.0.1, corp.example",
      hint: "DNS servers and search domains for nodes, comma-separated (at most 8).",
    }),
    field({
      label: "MTU",
      name: "mtu",
      type: "number",
      value: network.mtu ?? "",
      hint: "1280 to 9000. Empty: WireGuard's default.",
    }),
    field({
      label: "Keepalive (seconds)",
      name: "persistentKeepalive",
      type: "number",
      value: network.persistentKeepalive ?? "",
      hint: "0 to 3600. Empty: none.",
    }),
    field({
      label: "Default monthly quota (GiB)",
      name: "defaultMonthlyQuotaBytes",
      type: "number",
      step: "any",
      value: quotaGib,
      hint: "Received + sent per node and UTC month, for nodes without their own. Empty: no limit.",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button-primary" }, "Save network")),
  );
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name).value;
    const quota = numberOrNull(el("defaultMonthlyQuotaBytes"));
    const body = {
      name: el("name").trim(),
      listenPort: numberOrNull(el("listenPort")),
      endpoint: el("endpoint").trim() || null,
      dns: splitList(el("dns")),
      mtu: numberOrNull(el("mtu")),
      persistentKeepalive: numberOrNull(el("persistentKeepalive")),
      defaultMonthlyQuotaBytes: typeof quota === "number" ? Math.round(quota * GIB) : quota,
    };
    const changed = changedFields(current, body);
    if (Object.keys(changed).length === 0) {
      flash("Nothing changed: nothing to save.");
      return;
    }
    const saved = await api(`/api/v1/networks/${encodeURIComponent(network.id)}`, {
      method: "PATCH",
      body: changed,
    });
    current = saved;
    flash(`Network ${saved.name} saved.`);
    onSaved(saved);
  });
}

export async function renderNetworkSettings({ main, params, signal }) {
  const [networkId] = params;
  const network = await api(`/api/v1/networks/${encodeURIComponent(networkId)}`, { signal });
  if (signal.aborted) return;
  const problem = h("div");
  const crumb = h("a", { href: `#/networks/${network.id}` }, network.name);

  const remove = async () => {
    const sure = await confirmDialog({
      title: `Delete ${network.name}?`,
      message:
        "The network, its hub key and its enrollment keys go. Nodes must be deleted first. This cannot be undone.",
      confirmLabel: "Delete network",
      danger: true,
    });
    if (!sure) return;
    try {
      await api(`/api/v1/networks/${encodeURIComponent(network.id)}`, { method: "DELETE" });
    } catch (err) {
      if (!err?.endedSession) replace(problem, errorBox(err));
      return;
    }
    flash(`Network ${network.name} deleted.`);
    location.hash = "#/networks";
  };

  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/networks" }, "Networks"), " / ", crumb, " / Settings"),
    heading(`Settings of ${network.name}`),
    problem,
    networkForm(network, (saved) => {
      crumb.textContent = saved.name;
      main.querySelector("h1").textContent = `Settings of ${saved.name}`;
    }),
    h(
      "section",
      { class: "panel", "aria-labelledby": "network-delete-title" },
      h("h2", { id: "network-delete-title" }, "Delete"),
      h("p", null, "Removes the network. Delete or move its nodes first."),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "button-danger", onclick: remove }, "Delete network"),
      ),
    ),
  );
}
