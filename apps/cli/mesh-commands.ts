/**
 * CLI commands on networks and nodes: each takes names or ids, prints a table or lines for people
 * and JSON with `--json`, and asks before deleting (`--yes` skips the question).
 */
import { writeFileSync } from "node:fs";
import type { Json } from "./client.js";
import { api, data, fail, findNetwork, findNode } from "./client.js";
import { confirm, record, table } from "./output.js";

export interface MeshOptions {
  json: boolean;
  yes: boolean;
  network?: string | undefined;
  email?: string | undefined;
  cidr4?: string | undefined;
  cidr6?: string | undefined;
  endpoint?: string | undefined;
  topology?: string | undefined;
  "preshared-keys"?: string | undefined;
  "public-key"?: string | undefined;
  out?: string | undefined;
  qr: boolean;
  reusable: boolean;
  "max-uses"?: string | undefined;
  expires?: string | undefined;
  force: boolean;
}

const NETWORK_COLUMNS = ["id", "name", "cidr4", "topology", "endpoint", "listenPort", "nodeCount"];
const NODE_COLUMNS = [
  "id",
  "name",
  "email",
  "ip4",
  "status",
  "lastSeenAt",
  "configVersion",
  "appliedConfigVersion",
];

const write = (text: string) => process.stdout.write(text);
const show = (o: MeshOptions, value: unknown, human: () => string) =>
  write(o.json ? `${JSON.stringify(value, null, 2)}\n` : human());

/** Writes a config to `--out` (mode 0600: it may hold a private key), as a QR code, or to stdout. */
async function emitConfig(config: string, o: MeshOptions, what: string): Promise<void> {
  if (o.out) {
    writeFileSync(o.out, config, { mode: 0o600 });
    process.stderr.write(`${what}: config written to ${o.out}\n`);
  }
  if (o.qr) {
    // Loaded only for --qr: most calls never draw one.
    const { default: QRCode } = await import("qrcode");
    write(await QRCode.toString(config, { type: "terminal", small: true }));
  }
  if (!o.out && !o.qr) write(config);
}

/** Refuses a delete the user did not confirm. */
async function confirmDelete(o: MeshOptions, what: string): Promise<void> {
  if (o.yes) return;
  if (!(await confirm(`delete ${what}?`))) fail(`not deleted: ${what} (pass --yes to delete without asking)`);
}

export const meshCommands: Record<string, (args: string[], o: MeshOptions) => Promise<void>> = {
  async networks(_args, o) {
    const networks = await data<Json[]>("GET", "/api/v1/networks");
    show(o, networks, () => table(networks, NETWORK_COLUMNS));
  },

  async network([ref], o) {
    if (!ref) fail("network needs a network name or id");
    const network = await findNetwork(ref);
    show(o, network, () => record(network));
  },

  async "create-network"([name], o) {
    if (!name || !o.cidr4)
      fail("create-network needs a name and --cidr4, e.g. create-network office --cidr4 10.10.0.0/24");
    const body = {
      name,
      cidr4: o.cidr4,
      ...(o.cidr6 ? { cidr6: o.cidr6 } : {}),
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.topology ? { topology: o.topology } : {}),
      ...(o["preshared-keys"] ? { presharedKeys: o["preshared-keys"] } : {}),
    };
    const network = await data("POST", "/api/v1/networks", body);
    show(o, network, () =>
      record(
        network,
        NETWORK_COLUMNS.filter((c) => c !== "nodeCount"),
      ),
    );
  },

  async "delete-network"([ref], o) {
    if (!ref) fail("delete-network needs a network name or id");
    const network = await findNetwork(ref);
    await confirmDelete(o, `network ${network.name} (${network.id}) with its ${network.nodeCount} nodes`);
    const answer = await api("DELETE", `/api/v1/networks/${network.id}${o.force ? "?force=true" : ""}`);
    show(o, answer.data ?? { deleted: network.id }, () => `deleted network ${network.name}\n`);
  },

  async nodes(_args, o) {
    const q = new URLSearchParams({ limit: "500" });
    if (o.network) q.set("networkId", String((await findNetwork(o.network)).id));
    if (o.email) q.set("email", o.email);
    const { items } = await data<{ items: Json[] }>("GET", `/api/v1/nodes?${q}`);
    show(o, items, () => table(items, NODE_COLUMNS));
  },

  async node([ref], o) {
    if (!ref) fail("node needs a node name or id");
    const node = await findNode(ref, o.network);
    show(o, node, () => record(node));
  },

  async "add-node"([networkRef, name], o) {
    if (!networkRef || !name) fail("add-node needs a network and a node name, e.g. add-node office laptop");
    const network = await findNetwork(networkRef);
    const body = {
      networkId: network.id,
      name,
      ...(o.email ? { email: o.email } : {}),
      ...(o["public-key"] ? { publicKey: o["public-key"] } : {}),
    };
    const created = await data<{ node: Json; token: string; config?: string }>("POST", "/api/v1/nodes", body);
    if (o.json) {
      write(`${JSON.stringify(created, null, 2)}\n`);
      return;
    }
    process.stderr.write(`added ${name} to ${network.name}: ${created.node.ip4} (id ${created.node.id})\n`);
    process.stderr.write(`agent token (shown once): ${created.token}\n`);
    const config =
      created.config ?? String((await api("GET", `/api/v1/nodes/${created.node.id}/config`)).text);
    await emitConfig(config, o, name);
  },

  async config([ref], o) {
    if (!ref) fail("config needs a node name or id");
    const node = await findNode(ref, o.network);
    await emitConfig(
      String((await api("GET", `/api/v1/nodes/${node.id}/config`)).text),
      o,
      String(node.name),
    );
  },

  async disable([ref], o) {
    if (!ref) fail("disable needs a node name or id");
    const node = await findNode(ref, o.network);
    const updated = await data("PATCH", `/api/v1/nodes/${node.id}`, { status: "disabled" });
    show(o, updated, () => `disabled ${node.name}: off the hub until enabled\n`);
  },

  async enable([ref], o) {
    if (!ref) fail("enable needs a node name or id");
    const node = await findNode(ref, o.network);
    const updated = await data("PATCH", `/api/v1/nodes/${node.id}`, { status: "pending" });
    show(o, updated, () => `enabled ${node.name}: online again with its next heartbeat or handshake\n`);
  },

  async "delete-node"([ref], o) {
    if (!ref) fail("delete-node needs a node name or id");
    const node = await findNode(ref, o.network);
    await confirmDelete(o, `node ${node.name} (${node.id}, ${node.ip4})`);
    const answer = await api("DELETE", `/api/v1/nodes/${node.id}`);
    show(o, answer.data ?? { deleted: node.id }, () => `deleted node ${node.name}\n`);
  },

  async "enrollment-key"([networkRef], o) {
    if (!networkRef) fail("enrollment-key needs a network name or id");
    const network = await findNetwork(networkRef);
    const body = {
      networkId: network.id,
      reusable: o.reusable,
      ...(o["max-uses"] ? { maxUses: Number(o["max-uses"]) } : {}),
      ...(o.expires ? { expiresAt: o.expires } : {}),
    };
    // The API words the command (src/mesh/agent-command.ts), the same line the dashboard shows.
    const key = await data("POST", "/api/v1/enrollment-keys", body);
    show(o, key, () =>
      [
        `enrollment key for ${network.name} (shown once): ${key.key}`,
        `${key.reusable ? "reusable" : "single use"}${key.maxUses ? `, at most ${key.maxUses} uses` : ""}${key.expiresAt ? `, expires ${key.expiresAt}` : ""}`,
        "on each machine, as root, with the agent installed (wiresync-agent):",
        `  ${key.agentCommand}`,
        "",
      ].join("\n"),
    );
  },
};
