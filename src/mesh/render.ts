/**
 * wg-quick configs and the hub's desired peers, from the mesh's desired state. Pure: no I/O, no
 * secrets but the one private key a caller hands in for the node's own config.
 */
import { createHash } from "node:crypto";
import type { Topology } from "../db/index.js";
import { hostPrefix, parseCidr } from "./cidr.js";

export interface NetworkSpec {
  id: string;
  name: string;
  cidr4: string;
  cidr6: string | null;
  listenPort: number;
  endpoint: string | null;
  topology: Topology;
  dns: string[];
  mtu: number | null;
  persistentKeepalive: number | null;
  hubPublicKey: string;
  hubIp4: string;
  hubIp6: string | null;
}

export interface NodeSpec {
  id: string;
  name: string;
  publicKey: string;
  ip4: string;
  ip6: string | null;
  endpoint: string | null;
  extraAllowedIps: string[];
  status: string;
}

export interface RenderedPeer {
  comment: string;
  publicKey: string;
  allowedIps: string[];
  endpoint: string | null;
  persistentKeepalive: number | null;
}

/** The hub's view of a node: what goes on the hub interface for it. */
export interface DesiredHubPeer {
  publicKey: string;
  allowedIps: string[];
  endpoint: string | null;
}

const isActive = (n: Pick<NodeSpec, "status">) => n.status !== "disabled";

/** What a node's peer on the hub is made of. */
export type HubPeerSource = Pick<
  NodeSpec,
  "publicKey" | "ip4" | "ip6" | "endpoint" | "extraAllowedIps" | "status"
>;

/** Addresses a node answers for: its own host prefixes and the routes it carries. */
export function nodeAllowedIps(node: Pick<NodeSpec, "ip4" | "ip6" | "extraAllowedIps">): string[] {
  return [hostPrefix(node.ip4), ...(node.ip6 ? [hostPrefix(node.ip6)] : []), ...node.extraAllowedIps];
}

/** The peers of the hub's interface: every node that is not disabled. */
export function desiredHubPeers(nodes: readonly HubPeerSource[]): DesiredHubPeer[] {
  return nodes
    .filter(isActive)
    .map((n) => ({ publicKey: n.publicKey, allowedIps: nodeAllowedIps(n), endpoint: n.endpoint }));
}

/**
 * The routes behind active nodes of a node list, with the node each is behind, in list order. Made
 * once per list: a hub network's configs are rendered for each of its nodes from one list, and each
 * needs the routes behind all the others (a filter of the whole list per node made rendering every
 * config of a 5,000-node network take 1.5 s). Lists are read as they are at first use: a list is not
 * changed once rendered from.
 */
const routesOfList = new WeakMap<readonly NodeSpec[], { id: string; route: string }[]>();

function routesBehindNodes(all: readonly NodeSpec[]): { id: string; route: string }[] {
  let routes = routesOfList.get(all);
  if (routes === undefined) {
    routes = all.filter(isActive).flatMap((n) => n.extraAllowedIps.map((route) => ({ id: n.id, route })));
    routesOfList.set(all, routes);
  }
  return routes;
}

/** The `[Peer]` sections of a node's config, by the network's topology. */
export function configPeers(network: NetworkSpec, node: NodeSpec, all: readonly NodeSpec[]): RenderedPeer[] {
  const keepalive = network.persistentKeepalive ?? null;
  if (network.topology === "hub") {
    const routes = [network.cidr4, ...(network.cidr6 ? [network.cidr6] : [])];
    const extras = routesBehindNodes(all)
      .filter((r) => r.id !== node.id && !routes.includes(r.route))
      .map((r) => r.route);
    return [
      {
        comment: `hub of ${network.name}`,
        publicKey: network.hubPublicKey,
        allowedIps: [...routes, ...new Set(extras)],
        endpoint: network.endpoint,
        persistentKeepalive: keepalive,
      },
    ];
  }
  const others = all.filter((n) => n.id !== node.id && isActive(n));
  return [
    {
      comment: `hub of ${network.name}`,
      publicKey: network.hubPublicKey,
      allowedIps: [hostPrefix(network.hubIp4), ...(network.hubIp6 ? [hostPrefix(network.hubIp6)] : [])],
      endpoint: network.endpoint,
      persistentKeepalive: keepalive,
    },
    ...others.map((n) => ({
      comment: n.name,
      publicKey: n.publicKey,
      allowedIps: nodeAllowedIps(n),
      endpoint: n.endpoint,
      persistentKeepalive: keepalive,
    })),
  ];
}

export interface RenderInput {
  network: NetworkSpec;
  node: NodeSpec;
  nodes: readonly NodeSpec[];
  /** The node's private key when the server holds it; otherwise the node supplies its own. */
  privateKey?: string | undefined;
}

/** Renders the node's wg-quick config. Every value was validated on the way in (see mesh.schema.ts). */
export function renderNodeConfig(input: RenderInput): string {
  const { network, node } = input;
  const len4 = parseCidr(network.cidr4).prefix;
  const addresses = [`${node.ip4}/${len4}`];
  if (node.ip6 && network.cidr6) addresses.push(`${node.ip6}/${parseCidr(network.cidr6).prefix}`);
  const lines = [`# wiresync: node "${node.name}" in network "${network.name}"`, "[Interface]"];
  if (input.privateKey) lines.push(`PrivateKey = ${input.privateKey}`);
  else lines.push(`# PrivateKey = <this node's own private key; its public key is ${node.publicKey}>`);
  lines.push(`Address = ${addresses.join(", ")}`);
  if (node.endpoint) lines.push(`ListenPort = ${node.endpoint.slice(node.endpoint.lastIndexOf(":") + 1)}`);
  if (network.dns.length > 0) lines.push(`DNS = ${network.dns.join(", ")}`);
  if (network.mtu) lines.push(`MTU = ${network.mtu}`);
  for (const peer of configPeers(network, node, input.nodes)) {
    lines.push(
      "",
      "[Peer]",
      `# ${peer.comment}`,
      `PublicKey = ${peer.publicKey}`,
      `AllowedIPs = ${peer.allowedIps.join(", ")}`,
    );
    if (peer.endpoint) lines.push(`Endpoint = ${peer.endpoint}`);
    if (peer.persistentKeepalive) lines.push(`PersistentKeepalive = ${peer.persistentKeepalive}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Hash of a node's config without its private key: equal hashes mean the node needs no new config. */
export function configHash(input: Omit<RenderInput, "privateKey">): string {
  return createHash("sha256").update(renderNodeConfig(input)).digest("hex");
}
