import {
  bigint,
  boolean,
  index,
  inet,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { networks } from "./networks.js";

export const NODE_ROLES = ["peer", "relay", "hub"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** `degraded`: up by its heartbeats, but its tunnel to the hub is stale or its latency high (src/mesh/node-status.ts). */
export const NODE_STATUSES = ["pending", "online", "degraded", "offline", "disabled"] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** Why a node is disabled: an operator said so, or it used up its monthly quota (src/quota). */
export const DISABLED_REASONS = ["operator", "quota"] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];

export interface NodeNetworkInfo {
  ipv4?: string;
  ipv6?: string;
  natType?: string;
  localPort?: number;
}
export interface NodeCapabilities {
  maxConnections?: number;
  bandwidth?: { up?: number; down?: number };
}
export interface NodeLocation {
  country?: string;
  region?: string;
}
/**
 * Where a node's agent says it can be reached (see src/mesh/endpoints.ts), stored normalised: its
 * WireGuard listen port, its interface addresses (`ip/prefix`), the public endpoint it reported, and
 * the address the server saw its heartbeat come from.
 */
export interface NodeEndpointCandidates {
  listenPort: number | null;
  addresses: string[];
  reported: string | null;
  reflexive: string | null;
}
export interface NodeMetrics {
  cpu?: number;
  memory?: number;
  connections?: number;
  latencyMs?: number;
  bandwidthUsed?: { up?: number; down?: number };
}

/** A member of a network. Its address pair is unique within the network (IPAM races end here). */
export const nodes = pgTable(
  "nodes",
  {
    id: uuid().primaryKey().defaultRandom(),
    networkId: uuid()
      .notNull()
      .references(() => networks.id, { onDelete: "cascade" }),
    name: text().notNull(),
    email: text(),
    publicKey: text().notNull(),
    /**
     * The key this node had before its last rotation: kept on the hub (without addresses) until the
     * hub has seen a handshake of the new key after `keyRotatedAt`, then removed (src/mesh/rekey.service.ts).
     */
    previousPublicKey: text(),
    keyRotatedAt: timestamp({ withTimezone: true }),
    /** Set by an operator's re-key of an agent node; the agent rotates at its next heartbeat. */
    keyRotationRequestedAt: timestamp({ withTimezone: true }),
    /** Set only when the server generated the key pair; AES-256-GCM envelope. */
    privateKeyEnc: text(),
    /**
     * The preshared key between this node and its hub (32 bytes, base64), sealed with associated data
     * `node:<id>:psk`; null: none (src/mesh/psk.service.ts).
     */
    presharedKeyEnc: text(),
    /**
     * True once an operator turned this node's preshared key on or off: the hub's peer then carries
     * exactly `presharedKeyEnc` (or none). False: the peer's preshared key on the hub is left as it is
     * (an adopted peer keeps its own).
     */
    presharedKeyManaged: boolean().notNull().default(false),
    ip4: inet().notNull(),
    ip6: inet(),
    /** Set by an operator; the mesh's first choice of where peers reach this node. */
    endpoint: text(),
    /** Reported by the node's agent with its heartbeats; null while it never reported (no agent). */
    endpointCandidates: jsonb().$type<NodeEndpointCandidates>(),
    extraAllowedIps: text().array().notNull().default([]),
    natType: text(),
    networkInfo: jsonb().$type<NodeNetworkInfo>().notNull().default({}),
    capabilities: jsonb().$type<NodeCapabilities>().notNull().default({}),
    location: jsonb().$type<NodeLocation>().notNull().default({}),
    metrics: jsonb().$type<NodeMetrics>().notNull().default({}),
    /** The version its agent last named in a heartbeat; null while none did. */
    agentVersion: text(),
    tags: text().array().notNull().default([]),
    role: text({ enum: NODE_ROLES }).notNull().default("peer"),
    status: text({ enum: NODE_STATUSES }).notNull().default("pending"),
    /** Set while `status` is `disabled`; `quota` nodes come back at the month's turn. */
    disabledReason: text({ enum: DISABLED_REASONS }),
    /** Bytes (received + sent) the node may move per UTC month; null: the network's default. */
    monthlyQuotaBytes: bigint({ mode: "number" }),
    lastSeenAt: timestamp({ withTimezone: true }),
    lastHandshakeAt: timestamp({ withTimezone: true }),
    configVersion: integer().notNull().default(1),
    /** SHA-256 of the node's rendered config (without its private key): a change bumps `configVersion`. */
    configHash: text(),
    /** The highest config version announced to the node's agent. */
    configPushedVersion: integer().notNull().default(0),
    /** The config version the node's agent last reported running (null: no agent reported one). */
    appliedConfigVersion: integer(),
    /** When the node last went offline, and when that last raised an alert (`node.offline`): flap damping. */
    lastOfflineAt: timestamp({ withTimezone: true }),
    offlineAlertedAt: timestamp({ withTimezone: true }),
    /** SHA-256 of the node's agent token; the token itself is shown once at registration. */
    tokenHash: text(),
    enrollmentKeyId: uuid(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("nodes_network_public_key_key").on(t.networkId, t.publicKey),
    unique("nodes_network_ip4_key").on(t.networkId, t.ip4),
    unique("nodes_network_ip6_key").on(t.networkId, t.ip6),
    unique("nodes_network_name_key").on(t.networkId, t.name),
    index("nodes_email_idx").on(t.email),
    index("nodes_token_hash_idx").on(t.tokenHash),
  ],
);
