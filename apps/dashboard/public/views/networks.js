/** Networks: the list, a create form, and delete (with a second confirmation when nodes would go too). */
import { api } from "../api.js";
import {
  confirmDialog,
  errorBox,
  field,
  flash,
  h,
  heading,
  onSubmit,
  replace,
  splitList,
  table,
  timeAgo,
} from "../dom.js";

function networkForm(onCreated) {
  return onSubmit(
    h(
      "form",
      { class: "panel form-grid", "aria-labelledby": "new-network-title" },
      h("h2", { id: "new-network-title" }, "New network"),
      field({ label: "Name", name: "name", required: true, maxLength: 63, placeholder: "office" }),
      field({ label: "IPv4 range", name: "cidr4", required: true, placeholder: "10.10.0.0/24" }),
      field({ label: "IPv6 range", name: "cidr6", placeholder: "fd00:10::/64", hint: "Optional." }),
      field({
        label: "Endpoint",
        name: "endpoint",
        placeholder: "vpn.example.com:51820",
        hint: "Where nodes reach the hub: host:port. Optional.",
      }),
      field({
        label: "Listen port",
        name: "listenPort",
        type: "number",
        min: 1,
        max: 65535,
        placeholder: "51820",
        hint: "Optional: the lowest free port from 51820 up. Each network needs its own.",
      }),
      field({
        label: "Topology",
        name: "topology",
        type: "select",
        options: [
          ["hub", "Hub"],
          ["mesh", "Mesh"],
        ],
        value: "hub",
        hint: "Hub: nodes reach each other through the hub, which must forward between them (wiresync turns that on unless WG_FORWARDING=off; the drift check says when it cannot). Mesh: directly.",
      }),
      field({
        label: "DNS servers",
        name: "dns",
        placeholder: "1.1.1.1, 9.9.9.9",
        hint: "Comma-separated. Optional.",
      }),
      h("p", { class: "form-error", role: "alert" }),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "button-primary" }, "Create network"),
      ),
    ),
    async (form) => {
      const value = (name) => form.elements.namedItem(name).value.trim();
      const body = { name: value("name"), cidr4: value("cidr4"), topology: value("topology") };
      if (value("cidr6")) body.cidr6 = value("cidr6");
      if (value("endpoint")) body.endpoint = value("endpoint");
      if (value("listenPort")) body.listenPort = Number(value("listenPort"));
      const dns = splitList(value("dns"));
      if (dns.length > 0) body.dns = dns;
      const network = await api("/api/v1/networks", { method: "POST", body });
      form.reset();
      onCreated(network);
    },
  );
}

/** Asks, deletes, and asks again with the node count when the network still has nodes. */
async function deleteNetwork(network, onDeleted) {
  const sure = await confirmDialog({
    title: `Delete ${network.name}?`,
    message: "Its hub interface loses every peer at the next sync. This cannot be undone.",
    confirmLabel: "Delete network",
    danger: true,
  });
  if (!sure) return;
  const path = `/api/v1/networks/${encodeURIComponent(network.id)}`;
  try {
    await api(path, { method: "DELETE" });
  } catch (err) {
    if (err?.code !== "NETWORK_HAS_NODES") throw err;
    const count = err.details.nodeCount;
    const nodes = count === 1 ? "1 node" : `${count ?? "some"} nodes`;
    const force = await confirmDialog({
      title: `${network.name} still has ${nodes}`,
      message: `Delete the network and its ${nodes} too? Their configs stop working.`,
      confirmLabel: "Delete network and nodes",
      danger: true,
    });
    if (!force) return;
    await api(`${path}?force=true`, { method: "DELETE" });
  }
  flash(`Network ${network.name} deleted.`);
  onDeleted();
}

export async function renderNetworks({ main, session, signal, refresh }) {
  const networks = await api("/api/v1/networks", { signal });
  if (signal.aborted) return;
  const problem = h("div");

  const rows = networks.map((n) => [
    h("a", { href: `#/networks/${encodeURIComponent(n.id)}` }, n.name),
    h("code", null, n.cidr4),
    n.cidr6 ? h("code", null, n.cidr6) : h("span", { class: "muted" }, "—"),
    n.topology,
    n.endpoint ?? h("span", { class: "muted" }, "not set"),
    String(n.nodeCount ?? 0),
    timeAgo(n.createdAt),
    h(
      "div",
      { class: "row-actions" },
      h("a", { href: `#/networks/${encodeURIComponent(n.id)}`, class: "button-link" }, "Nodes"),
      session.isAdmin
        ? h(
            "button",
            {
              type: "button",
              class: "button-danger-quiet",
              "aria-label": `Delete network ${n.name}`,
              onclick: () => deleteNetwork(n, refresh).catch((err) => replace(problem, errorBox(err))),
            },
            "Delete",
          )
        : null,
    ),
  ]);

  replace(
    main,
    heading("Networks"),
    problem,
    table({
      caption: "Networks",
      columns: ["Name", "IPv4", "IPv6", "Topology", "Endpoint", "Nodes", "Created", ""],
      rows,
      empty: "No networks yet. Create the first one below.",
    }),
    session.isAdmin
      ? networkForm((network) => {
          flash(`Network ${network.name} created.`);
          refresh();
        })
      : null,
  );
}
