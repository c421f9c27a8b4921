/** Public shapes of mesh rows: what the API returns. Never a private key, token hash or ciphertext. */
import type { NatType } from "../nat/index.js";
import { canonicalNatType } from "../nat/index.js";
import { addressOnly } from "./cidr.js";
import type { NodeEndpointCandidates } from "./endpoints.js";
import type { EnrollmentKeyRow, NetworkRow, NodeRow } from "./mesh.repo.js";
import { isConfigLagging } from "./node-status.js";
import type { MeshPeerReach, NetworkSpec, NodeSpec } from "./render.js";

export interface NetworkView {
  id: string;
  name: string;
  cidr4: string;
  cidr6: string | null;
  listenPort: number;
  endpoint: string | null;
  topology: NetworkRow["topology"];
  dns: string[];
  mtu: number | null;
  persistentKeepalive: number | null;
  /** Monthly byte quota of nodes that set none of their own; null: no limit. */
  defaultMonthlyQuotaBytes: number | null;
  hubPublicKey: string;
  hubIp4: string;
  hubIp6: string | null;
  /** `HUB_ID` of the hub host standing by for this network, if any. */
  standbyHubId: string | null;
  /** Which tunnels carry preshared keys: the mode only, never a key or the pair secret. */
  presharedKeys: NetworkRow["presharedKeys"];
  /** The hub's next public key while a hub key rotation is under way (agents add it as a second peer). */
  nextHubPublicKey: string | null;
  nodeCount?: number;
  createdAt: Date;
  updatedAt: Date;
}

export function toNetworkView(n: NetworkRow & { nodeCount?: number }): NetworkView {
  return {
    id: n.id,
    name: n.name,
    cidr4: n.cidr4,
    cidr6: n.cidr6,
    listenPort: n.listenPort,
    endpoint: n.endpoint,
    topology: n.topology,
    dns: n.dns,
    mtu: n.mtu,
    persistentKeepalive: n.persistentKeepalive,
    defaultMonthlyQuotaBytes: n.defaultMonthlyQuotaBytes,
    hubPublicKey: n.hubPublicKey,
    hubIp4: addressOnly(n.hubIp4),
    hubIp6: n.hubIp6 ? addressOnly(n.hubIp6) : null,
    standbyHubId: n.standbyHubId,
    presharedKeys: n.presharedKeys,
    nextHubPublicKey: n.hubNextPublicKey ?? null,
    ...(n.nodeCount === undefined ? {} : { nodeCount: n.nodeCount }),
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
  };
}

export interface NodeView {
  id: string;
  networkId: string;
  name: string;
  email: string | null;
  publicKey: string;
  ip4: string;
  ip6: string | null;
  endpoint: string | null;
  /** Where the node's agent says it can be reached; null while no agent reported (config-only). */
  endpointCandidates: NodeEndpointCandidates | null;
  extraAllowedIps: string[];
  role: NodeRow["role"];
  status: NodeRow["status"];
  /** Why the node is disabled (`operator`, `quota`); null when it is not. */
  disabledReason: NodeRow["disabledReason"];
  /** Bytes the node may move per UTC month; null: the network's default. */
  monthlyQuotaBytes: number | null;
  natType: NatType | null;
  networkInfo: NodeRow["networkInfo"];
  capabilities: NodeRow["capabilities"];
  location: NodeRow["location"];
  metrics: NodeRow["metrics"];
  agentVersion: string | null;
  tags: string[];
  /** True when the server holds this node's private key (it generated the pair). */
  hasServerKey: boolean;
  /** True when the node has a preshared key with its hub (the key itself is only in its config). */
  hasPresharedKey: boolean;
  /** When an operator asked the node's agent to rotate its key; null when no rotation is pending. */
  keyRotationRequestedAt: Date | null;
  /** When the node's key last changed by a rotation, and the key it replaced. */
  keyRotatedAt: Date | null;
  previousPublicKey: string | null;
  lastSeenAt: Date | null;
  lastHandshakeAt: Date | null;
  configVersion: number;
  /** The config version the agent last reported running (null: no agent reported one). */
  appliedConfigVersion: number | null;
  /** The agent runs an older config than `configVersion`. */
  configLagging: boolean;
  createdAt: Date;
  updatedAt: Date;
  /**
   * In a mesh, on a single node's read: the endpoint this node's config names for each other node
   * (null: it reaches that node only after being reached by it). Absent elsewhere.
   */
  meshPeers?: MeshPeerReach[];
}

export function toNodeView(n: NodeRow): NodeView {
  return {
    id: n.id,
    networkId: n.networkId,
    name: n.name,
    email: n.email,
    publicKey: n.publicKey,
    ip4: addressOnly(n.ip4),
    ip6: n.ip6 ? addressOnly(n.ip6) : null,
    endpoint: n.endpoint,
    endpointCandidates: n.endpointCandidates,
    extraAllowedIps: n.extraAllowedIps,
    role: n.role,
    status: n.status,
    disabledReason: n.status === "disabled" ? (n.disabledReason ?? "operator") : null,
    monthlyQuotaBytes: n.monthlyQuotaBytes,
    // Stored canonical by the schema; a value written before canonical forms reads as unknown.
    natType: n.natType === null ? null : (canonicalNatType(n.natType) ?? "unknown"),
    networkInfo: n.networkInfo,
    capabilities: n.capabilities,
    location: n.location,
    metrics: n.metrics,
    agentVersion: n.agentVersion,
    tags: n.tags,
    hasServerKey: n.privateKeyEnc !== null,
    hasPresharedKey: n.presharedKeyEnc !== null,
    keyRotationRequestedAt: n.keyRotationRequestedAt,
    keyRotatedAt: n.keyRotatedAt,
    previousPublicKey: n.previousPublicKey,
    lastSeenAt: n.lastSeenAt,
    lastHandshakeAt: n.lastHandshakeAt,
    configVersion: n.configVersion,
    appliedConfigVersion: n.appliedConfigVersion,
    configLagging: isConfigLagging(n.configVersion, n.appliedConfigVersion),
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
  };
}

export interface EnrollmentKeyView {
  id: string;
  networkId: string;
  prefix: string;
  description: string | null;
  reusable: boolean;
  maxUses: number | null;
  uses: number;
  expiresAt: Date | null;
  role: EnrollmentKeyRow["role"];
  tags: string[];
  revokedAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  usable: boolean;
}

export function toEnrollmentKeyView(k: EnrollmentKeyRow): EnrollmentKeyView {
  const exhausted = k.reusable ? k.maxUses !== null && k.uses >= k.maxUses : k.uses >= 1;
  const expired = k.expiresAt !== null && k.expiresAt.getTime() <= Date.now();
  return {
    id: k.id,
    networkId: k.networkId,
    prefix: k.prefix,
    description: k.description,
    reusable: k.reusable,
    maxUses: k.maxUses,
    uses: k.uses,
    expiresAt: k.expiresAt,
    role: k.role,
    tags: k.tags,
    revokedAt: k.revokedAt,
    createdBy: k.createdBy,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    usable: !k.revokedAt && !exhausted && !expired,
  };
}

/** What rendering needs of a network: its public view without counts and timestamps. */
export function toNetworkSpec(n: NetworkRow): NetworkSpec {
  // The quota is no part of any config: leaving it out keeps config hashes (and versions) as they were.
  // Nor is the preshared-key mode: the keys themselves are handed to the render.
  const {
    nodeCount: _count,
    createdAt: _created,
    updatedAt: _updated,
    defaultMonthlyQuotaBytes: _quota,
    presharedKeys: _psk,
    ...spec
  } = toNetworkView(n);
  return spec;
}

export function toNodeSpec(
  n: Pick<NodeRow, "id" | "name" | "publicKey" | "ip4" | "ip6" | "endpoint" | "extraAllowedIps" | "status"> &
    Partial<Pick<NodeRow, "endpointCandidates">>,
): NodeSpec {
  return {
    id: n.id,
    name: n.name,
    publicKey: n.publicKey,
    ip4: addressOnly(n.ip4),
    ip6: n.ip6 ? addressOnly(n.ip6) : null,
    endpoint: n.endpoint,
    extraAllowedIps: n.extraAllowedIps,
    status: n.status,
    candidates: n.endpointCandidates ?? null,
  };
}
