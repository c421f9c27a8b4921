/**
 * wg-quick configs and the hub's desired peers, from the mesh's desired state. Pure: no I/O, no
 * secrets but the private and preshared keys (and the pair secret) a caller hands in for the node's
 * own config.
 */
import { createHash, createHmac } from "node:crypto";
import type { Topology } from "../db/index.js";
import type { DesiredPeer } from "../wireguard/index.js";
import { hostPrefix, parseCidr } from "./cidr.js";
import type { EndpointSource, NodeEndpointCandidates } from "./endpoints.js";
import { chooseEndpoint, keepaliveFor } from "./endpoints.js";

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
  /** The hub's next key while its rotation is under way: named in every config for agents to add. */
  nextHubPublicKey?: string | null;
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
  /** What the node's agent reported of where it can be reached; null or absent without an agent. */
  candidates?: NodeEndpointCandidates | null | undefined;
}

export interface RenderedPeer {
  comment: string;
  publicKey: string;
  allowedIps: string[];
  endpoint: string | null;
  persistentKeepalive: number | null;
  /** The preshared key with this peer (the hub's, or a mesh pair's). IMPORTANT: a secret. */
  presharedKey?: string | undefined;
}

const isActive = (n: Pick<NodeSpec, "status">) => n.status !== "disabled";

/**
 * The preshared key of the tunnel between mesh nodes `a` and `b`: HMAC-SHA256 of their ids, sorted
 * and joined by a space, keyed with the network's pair secret (32 bytes, base64). Both ends derive
 * the same key and nothing per pair is stored; a new secret gives every pair a new key.
 * IMPORTANT: a secret, for the configs of `a` and `b` only.
 */
export function pairPresharedKey(secret: string, a: string, b: string): string {
  const [first, second] = a < b ? [a, b] : [b, a];
  return createHmac("sha256", Buffer.from(secret, "base64")).update(`${first} ${second}`).digest("base64");
}

/** What a node's peer on the hub is made of. */
export type HubPeerSource = Pick<
  NodeSpec,
  "publicKey" | "ip4" | "ip6" | "endpoint" | "extraAllowedIps" | "status"
>;

/** Addresses a node answers for: its own host prefixes and the routes it carries. */
export function nodeAllowedIps(node: Pick<NodeSpec, "ip4" | "ip6" | "extraAllowedIps">): string[] {
  return [hostPrefix(node.ip4), ...(node.ip6 ? [hostPrefix(node.ip6)] : []), ...node.extraAllowedIps];
}

/**
 * The peers of the hub's interface: every node that is not disabled, in the data plane's one peer
 * shape, built from the rows once. The peer sync hands them to `desiredSet` as they are, where each
 * is checked once on its way to the interface. `presharedKeyOf` gives a node's preshared key (a
 * string), that it must have none (null), or that the interface's is left alone (undefined).
 */
export function desiredHubPeers<T extends HubPeerSource>(
  nodes: readonly T[],
  presharedKeyOf: (node: T) => string | null | undefined = () => undefined,
): DesiredPeer[] {
  return nodes.filter(isActive).map((n) => {
    const peer: DesiredPeer = { publicKey: n.publicKey, allowedIps: nodeAllowedIps(n), endpoint: n.endpoint };
    const psk = presharedKeyOf(n);
    if (psk !== undefined) peer.presharedKey = psk;
    return peer;
  });
}

/** A route behind an active node, with the node it is behind. */
export interface RouteBehind {
  id: string;
  route: string;
}

/**
 * The routes behind active nodes of a node list, in list order. A caller rendering every config of
 * one list computes them once and passes them in (`RenderInput.routesBehind`): each hub config needs
 * the routes behind all the other nodes, and finding them again per config is quadratic.
 */
export function routesBehindNodes(all: readonly NodeSpec[]): RouteBehind[] {
  return all.filter(isActive).flatMap((n) => n.extraAllowedIps.map((route) => ({ id: n.id, route })));
}

/** A node without an agent in a mesh: nobody knows its addresses, so peers learn them from its packets. */
const isConfigOnlyInMesh = (network: NetworkSpec, node: NodeSpec) =>
  network.topology === "mesh" && !node.candidates;

/** How a mesh node's config reaches one other node: the endpoint it names (see endpoints.ts), if any. */
export interface MeshPeerReach {
  id: string;
  name: string;
  endpoint: string | null;
  source: EndpointSource | null;
}

/**
 * For each other active node of a mesh, the endpoint `node`'s config names for it (chosen with
 * `node`'s own facts when it has an agent), in list order. Empty for a hub network.
 */
export function meshPeerReach(
  network: NetworkSpec,
  node: NodeSpec,
  all: readonly NodeSpec[],
): MeshPeerReach[] {
  if (network.topology !== "mesh") return [];
  const viewer = isConfigOnlyInMesh(network, node) ? undefined : node;
  return all
    .filter((n) => n.id !== node.id && isActive(n))
    .map((n) => {
      const chosen = chooseEndpoint(n, viewer);
      return { id: n.id, name: n.name, endpoint: chosen?.endpoint ?? null, source: chosen?.source ?? null };
    });
}

/**
 * The `[Peer]` sections of a node's config, by the network's topology. `routesBehind` must be
 * `routesBehindNodes(all)` (computed here when not given).
 */
export function configPeers(
  network: NetworkSpec,
  node: NodeSpec,
  all: readonly NodeSpec[],
  routesBehind: readonly RouteBehind[] = routesBehindNodes(all),
  presharedKey?: string,
  pairSecret?: string,
): RenderedPeer[] {
  const keepalive = keepaliveFor(network.persistentKeepalive ?? null, node, {
    configOnly: isConfigOnlyInMesh(network, node),
  });
  if (network.topology === "hub") {
    const routes = [network.cidr4, ...(network.cidr6 ? [network.cidr6] : [])];
    const extras = routesBehind
      .filter((r) => r.id !== node.id && !routes.includes(r.route))
      .map((r) => r.route);
    return [
      {
        comment: `hub of ${network.name}`,
        publicKey: network.hubPublicKey,
        allowedIps: [...routes, ...new Set(extras)],
        endpoint: network.endpoint,
        persistentKeepalive: keepalive,
        presharedKey,
      },
    ];
  }
  const others = all.filter((n) => n.id !== node.id && isActive(n));
  const reach = meshPeerReach(network, node, others);
  return [
    {
      comment: `hub of ${network.name}`,
      publicKey: network.hubPublicKey,
      allowedIps: [hostPrefix(network.hubIp4), ...(network.hubIp6 ? [hostPrefix(network.hubIp6)] : [])],
      endpoint: network.endpoint,
      persistentKeepalive: keepalive,
      presharedKey,
    },
    ...others.map((n, i) => ({
      comment: n.name,
      publicKey: n.publicKey,
      allowedIps: nodeAllowedIps(n),
      endpoint: reach[i]!.endpoint,
      persistentKeepalive: keepalive,
      presharedKey: pairSecret === undefined ? undefined : pairPresharedKey(pairSecret, node.id, n.id),
    })),
  ];
}

export interface RenderInput {
  network: NetworkSpec;
  node: NodeSpec;
  nodes: readonly NodeSpec[];
  /** The node's private key when the server holds it; otherwise the node supplies its own. */
  privateKey?: string | undefined;
  /**
   * The preshared key between the node and its hub, when it has one: in the hub's `[Peer]` only.
   * IMPORTANT: a secret.
   */
  presharedKey?: string | undefined;
  /**
   * The network's pair secret, when its mesh peers have preshared keys (`presharedKeys: "all"`): each
   * node-to-node `[Peer]` carries `pairPresharedKey(pairSecret, node, peer)`. Ignored in a hub
   * network. IMPORTANT: a secret; only the derived keys of the node's own pairs reach its config.
   */
  pairSecret?: string | undefined;
  /**
   * `routesBehindNodes(nodes)`, when the caller renders many configs from one list (kept: hashing every
   * config of a 5,000-node hub network with 50 routes took 1.7 s finding them per config, 34 ms, 98 % less).
   */
  routesBehind?: readonly RouteBehind[] | undefined;
}

/**
 * The comment line that tells a node's agent the hub's next key while a hub key rotation is under
 * way (a comment: wg-quick and the apps ignore it; src/agent/hub-rotation.ts reads it). The agent adds the key as a second hub peer
 * without allowed IPs and moves the hub's allowed IPs to it once it has shaken hands.
 */
export const NEXT_HUB_KEY_PREFIX = "# NextHubPublicKey = ";

/** Renders the node's wg-quick config. Every value was validated on the way in (see mesh.schema.ts). */
export function renderNodeConfig(input: RenderInput): string {
  const { network, node } = input;
  const len4 = parseCidr(network.cidr4).prefix;
  const addresses = [`${node.ip4}/${len4}`];
  if (node.ip6 && network.cidr6) addresses.push(`${node.ip6}/${parseCidr(network.cidr6).prefix}`);
  const lines = [`# wiresync: node "${node.name}" in network "${network.name}"`];
  if (isConfigOnlyInMesh(network, node)) lines.push(...configOnlyNotes(network, node, input.nodes));
  lines.push("[Interface]");
  if (input.privateKey) lines.push(`PrivateKey = ${input.privateKey}`);
  else lines.push(`# PrivateKey = <this node's own private key; its public key is ${node.publicKey}>`);
  lines.push(`Address = ${addresses.join(", ")}`);
  if (node.endpoint) lines.push(`ListenPort = ${node.endpoint.slice(node.endpoint.lastIndexOf(":") + 1)}`);
  if (network.dns.length > 0) lines.push(`DNS = ${network.dns.join(", ")}`);
  if (network.mtu) lines.push(`MTU = ${network.mtu}`);
  for (const peer of configPeers(
    network,
    node,
    input.nodes,
    input.routesBehind ?? routesBehindNodes(input.nodes),
    input.presharedKey,
    input.pairSecret,
  )) {
    lines.push(
      "",
      "[Peer]",
      `# ${peer.comment}`,
      `PublicKey = ${peer.publicKey}`,
      `AllowedIPs = ${peer.allowedIps.join(", ")}`,
    );
    if (peer.presharedKey) lines.push(`PresharedKey = ${peer.presharedKey}`);
    if (peer.endpoint) lines.push(`Endpoint = ${peer.endpoint}`);
    if (peer.persistentKeepalive) lines.push(`PersistentKeepalive = ${peer.persistentKeepalive}`);
    if (peer.publicKey === network.hubPublicKey && network.nextHubPublicKey)
      lines.push(`${NEXT_HUB_KEY_PREFIX}${network.nextHubPublicKey}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * What a mesh node without an agent is told at the top of its config: which peers it reaches directly
 * (their endpoint is known) and which only once they have reached it. Names are validated one-line.
 */
function configOnlyNotes(network: NetworkSpec, node: NodeSpec, all: readonly NodeSpec[]): string[] {
  const reach = meshPeerReach(network, node, all);
  const names = (list: MeshPeerReach[]) => (list.length > 0 ? list.map((p) => p.name).join(", ") : "none");
  return [
    "# No agent reports this node's addresses, so peers learn them only from its packets;",
    "# PersistentKeepalive keeps those paths open once it has reached them.",
    `# Reaches directly (endpoint known): ${names(reach.filter((p) => p.endpoint !== null))}`,
    `# Reaches only after they reached it (no endpoint known): ${names(reach.filter((p) => p.endpoint === null))}`,
  ];
}

/**
 * Hash of a node's config without its private key (its preshared keys included, so a new one makes a
 * new version): equal hashes mean the node needs no new config.
 */
export function configHash(input: Omit<RenderInput, "privateKey">): string {
  const { pairSecret, ...rest } = input;
  const hash = createHash("sha256").update(renderNodeConfig(rest));
  if (pairSecret !== undefined && input.network.topology === "mesh") {
    // The pair keys are a function of the secret and the two nodes' ids: a fingerprint of the secret
    // and the ids stand for them all. Deriving them here cost one HMAC per peer per config (hashing
    // every config of a 1,000-node mesh: 1,000,000 HMACs, 2.3 s without pair keys, 10.4 s with them).
    const fingerprint = createHash("sha256").update(pairSecret).digest("hex");
    const ids = input.nodes.filter((n) => n.id !== input.node.id && isActive(n)).map((n) => n.id);
    hash.update(`\n# pair keys ${fingerprint} ${input.node.id} ${ids.join(",")}`);
  }
  return hash.digest("hex");
}
