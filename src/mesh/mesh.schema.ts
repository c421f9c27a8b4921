/**
 * Input schemas of the mesh. Every string that can reach a wg-quick config is held to a strict
 * pattern here: no newline, no `[`/`]` section header, no `=` — a config can never gain a `PostUp`.
 */
import { z } from "zod";
import { NODE_ROLES, NODE_STATUSES, PRESHARED_KEY_MODES, TOPOLOGIES } from "../db/index.js";
import { FutureDate, oneLine } from "../validation.js";
import { isHostname, isWgKey, parseEndpoint, parseIp } from "../wireguard/index.js";
import type { Cidr } from "./cidr.js";
import { formatCidr, parseCidr } from "./cidr.js";
import { MAX_CANDIDATE_ADDRESSES } from "./endpoints.js";
import { networkRangeProblem } from "./ipam.js";
import {
  AgentVersion,
  HeartbeatMetricsInput,
  NatTypeInput,
  sameUnderTwoNames,
} from "./node-protocol.schema.js";
import { isWeakPublicKey } from "./weak-keys.js";

export const Name = z
  .string()
  .trim()
  .min(1)
  .max(63)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._ -]*$/,
    "may hold only letters, digits, spaces, '.', '_' and '-', starting with a letter or digit",
  );

export const NodeEmail = z
  .email({ message: "must be an email address" })
  .max(254)
  .regex(/^[^\s[\]=]+$/, "must not contain spaces, brackets or '='")
  .transform((v) => v.toLowerCase());

export const WgKey = z
  .string()
  .trim()
  .refine(
    isWgKey,
    "must be a WireGuard key: 44 characters of base64 encoding 32 bytes (see `wg genkey | wg pubkey`)",
  )
  .refine(
    (v) => !isWeakPublicKey(v),
    "is a point of small order (such as all zeros), which anyone could impersonate; generate a real key pair with `wg genkey | wg pubkey`",
  );

/**
 * `host:port` or `[v6]:port`, by the data plane's own parser: the API accepts exactly the endpoints
 * the hub's reconcile can write (a trailing-dot or all-numeric host would be refused there).
 */
export const Endpoint = z
  .string()
  .trim()
  .max(260)
  .refine((v) => isEndpoint(v), "must be host:port, such as vpn.example.com:51820 or [2001:db8::1]:51820");

function isEndpoint(value: string): boolean {
  try {
    parseEndpoint(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * A network's range, returned in canonical form (`10.0.0.0/024` → `10.0.0.0/24`, `FD00:0::/64` →
 * `fd00::/64`). Host bits must be zero (`10.0.0.5/24` is refused with the network address to use,
 * as routes are): a typo there more likely means a wrong range than a wish for the enclosing one.
 * Ranges that cannot work are refused (`networkRangeProblem`).
 */
const networkRange = (family: 4 | 6, label: string) =>
  z
    .string()
    .trim()
    .max(64)
    .transform((v, ctx) => {
      let c: Cidr;
      try {
        c = parseCidr(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
      const problem = c.family === family ? networkRangeProblem(c) : `must be an IPv${family} ${label}`;
      if (problem) {
        ctx.addIssue({ code: "custom", message: problem });
        return z.NEVER;
      }
      return formatCidr(c);
    });

export const Cidr4 = networkRange(4, "prefix such as 10.10.0.0/24");
export const Cidr6 = networkRange(6, "prefix such as fd00:10::/64");

/** A route a node carries for others (site-to-site), any family, host bits zero; canonical form. */
export const AllowedIp = z
  .string()
  .trim()
  .max(64)
  .transform((v, ctx) => {
    try {
      return formatCidr(parseCidr(v));
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });

const DnsEntry = z
  .string()
  .trim()
  .refine((v) => parseIp(v) !== null || isHostname(v), "must be an IP address or a search domain");

const Port = z.number().int().min(1).max(65535);
/** A monthly byte quota: at least 1 KiB, at most 2^53 - 1 (what JSON numbers hold exactly). */
const QuotaBytes = z.number().int().min(1024).max(Number.MAX_SAFE_INTEGER);
const Mtu = z.number().int().min(1280).max(9000);
const Keepalive = z.number().int().min(0).max(3600);

export const CreateNetworkInput = z
  .object({
    name: Name,
    cidr4: Cidr4,
    cidr6: Cidr6.optional(),
    /** Unset: the lowest port from 51820 up that no other network listens on. */
    listenPort: Port.optional(),
    endpoint: Endpoint.optional(),
    topology: z.enum(TOPOLOGIES).default("hub"),
    dns: z.array(DnsEntry).max(8).default([]),
    mtu: Mtu.optional(),
    persistentKeepalive: Keepalive.optional(),
    /** Which tunnels carry preshared keys (see `PRESHARED_KEY_MODES`); unset: `off`. */
    presharedKeys: z.enum(PRESHARED_KEY_MODES).optional(),
  })
  .strict();
export type CreateNetworkInput = z.infer<typeof CreateNetworkInput>;

/** A hub host's `HUB_ID`. */
export const HubId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
    "must be a HUB_ID: 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
  );

export const UpdateNetworkInput = z
  .object({
    name: Name,
    listenPort: Port,
    endpoint: Endpoint.nullable(),
    topology: z.enum(TOPOLOGIES),
    dns: z.array(DnsEntry).max(8),
    mtu: Mtu.nullable(),
    persistentKeepalive: Keepalive.nullable(),
    /** Monthly byte quota of nodes that set none of their own; null removes it. */
    defaultMonthlyQuotaBytes: QuotaBytes.nullable(),
    /** `HUB_ID` of the hub host that stands by for this network; null: none. */
    standbyHubId: HubId.nullable(),
    /** Which tunnels carry preshared keys; turning them on gives every node without one its key. */
    presharedKeys: z.enum(PRESHARED_KEY_MODES),
  })
  .partial()
  .strict();
export type UpdateNetworkInput = z.infer<typeof UpdateNetworkInput>;

export const CreateNodeInput = z
  .object({
    networkId: z.uuid(),
    name: Name,
    email: NodeEmail.optional(),
    publicKey: WgKey.optional(),
    endpoint: Endpoint.optional(),
    role: z.enum(["peer", "relay"]).default("peer"),
    extraAllowedIps: z.array(AllowedIp).max(64).default([]),
    tags: z.array(Name).max(32).default([]),
  })
  .strict();
export type CreateNodeInput = z.infer<typeof CreateNodeInput>;

/** A node address of one family, as typed (no prefix), returned in canonical form. */
const NodeAddress = (family: 4 | 6) =>
  z
    .string()
    .trim()
    .max(45)
    .transform((v, ctx) => {
      const ip = parseIp(v);
      if (ip?.family === family) return ip.text;
      ctx.addIssue({
        code: "custom",
        message: `must be one IPv${family} address without a prefix, such as ${family === 4 ? "10.0.0.7" : "fd00::7"}`,
      });
      return z.NEVER;
    });

export const UpdateNodeInput = z
  .object({
    name: Name,
    /** Moves the node: a free address inside the network's IPv4 range. */
    ip4: NodeAddress(4),
    /** Moves the node's IPv6 address (inside the network's IPv6 range); null drops it. */
    ip6: NodeAddress(6).nullable(),
    email: NodeEmail.nullable(),
    publicKey: WgKey,
    endpoint: Endpoint.nullable(),
    role: z.enum(["peer", "relay"]),
    extraAllowedIps: z.array(AllowedIp).max(64),
    tags: z.array(Name).max(32),
    /** `disabled` takes the node off the hub without deleting it. */
    status: z.enum(["disabled", "pending"]),
    /** Bytes (received + sent) per UTC month; null falls back to the network's default. */
    monthlyQuotaBytes: QuotaBytes.nullable(),
  })
  .partial()
  .strict();
export type UpdateNodeInput = z.infer<typeof UpdateNodeInput>;

/** Lifetimes of one-time config links: 10 minutes unless told, from 1 minute to 1 day. */
export const CONFIG_LINK_TTL_SECONDS = { default: 600, min: 60, max: 86_400 } as const;

export const CreateConfigLinkInput = z
  .object({
    ttlSeconds: z
      .number()
      .int()
      .min(CONFIG_LINK_TTL_SECONDS.min)
      .max(CONFIG_LINK_TTL_SECONDS.max)
      .default(CONFIG_LINK_TTL_SECONDS.default),
  })
  .strict();
export type CreateConfigLinkInput = z.infer<typeof CreateConfigLinkInput>;

export const NodeListQuery = z.object({
  networkId: z.uuid().optional(),
  status: z.enum(NODE_STATUSES).optional(),
  email: z.string().trim().max(254).optional(),
  q: z.string().trim().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type NodeListQuery = z.infer<typeof NodeListQuery>;

export const CreateEnrollmentKeyInput = z
  .object({
    networkId: z.uuid(),
    reusable: z.boolean().default(false),
    maxUses: z.number().int().min(1).max(1_000_000).optional(),
    expiresAt: FutureDate.optional(),
    role: z.enum(["peer", "relay"]).default("peer"),
    tags: z.array(Name).max(32).default([]),
    description: oneLine(200).optional(),
  })
  .strict();
export type CreateEnrollmentKeyInput = z.infer<typeof CreateEnrollmentKeyInput>;

export const RegisterNodeInput = z
  .object({
    /**
     * The node's id: a new node takes it as its id (a client-chosen id); an existing node (same
     * network and public key) re-registers under it.
     */
    nodeId: z.uuid().optional(),
    name: Name.optional(),
    publicKey: WgKey,
    email: NodeEmail.optional(),
    networkInfo: z
      .object({
        ipv4: z
          .string()
          .refine((v) => parseIp(v)?.family === 4, "must be an IPv4 address")
          .optional(),
        ipv6: z
          .string()
          .refine((v) => parseIp(v)?.family === 6, "must be an IPv6 address")
          .optional(),
        natType: NatTypeInput.optional(),
        localPort: Port.optional(),
      })
      .strict()
      .default({}),
    capabilities: z
      .object({
        maxConnections: z.number().int().min(0).max(1_000_000).optional(),
        bandwidth: z
          .object({ up: z.number().min(0).optional(), down: z.number().min(0).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    location: z
      .object({
        country: z
          .string()
          .trim()
          .regex(/^[A-Za-z]{2}$/, "must be an ISO 3166 two-letter code")
          .optional(),
        region: z
          .string()
          .trim()
          .max(64)
          .regex(/^[^\r\n\0[\]=]*$/, "must be one line")
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type RegisterNodeInput = z.infer<typeof RegisterNodeInput>;

export { NODE_ROLES };

/** An interface address of a node: `192.168.1.5/24`, `2001:db8::5/64`, or a bare address. */
const InterfaceAddress = z
  .string()
  .trim()
  .max(64)
  .refine((v) => {
    const slash = v.indexOf("/");
    const ip = parseIp(slash === -1 ? v : v.slice(0, slash));
    if (!ip) return false;
    if (slash === -1) return true;
    const prefix = v.slice(slash + 1);
    return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (ip.family === 4 ? 32 : 128);
  }, "must be an IP address with an optional prefix length, such as 192.168.1.5/24");

/** Most peers a heartbeat may report handshakes with. */
export const MAX_REPORTED_HANDSHAKES = 4_096;
/** A handshake older than this (ten years) is not a handshake but a clock gone wrong. */
const MAX_HANDSHAKE_AGE_SECONDS = 10 * 365 * 24 * 3600;

export const EndpointCandidatesInput = z
  .object({
    /** The port the node's WireGuard interface listens on. */
    listenPort: Port,
    /** The node's host addresses (not loopback, link-local or its WireGuard interface's), with prefixes. */
    addresses: z.array(InterfaceAddress).max(MAX_CANDIDATE_ADDRESSES),
  })
  .strict();

export const PeerHandshakeInput = z
  .object({
    publicKey: WgKey,
    /** Seconds between the latest handshake with this peer and the heartbeat (the node's own clock). */
    ageSeconds: z.number().int().min(0).max(MAX_HANDSHAKE_AGE_SECONDS),
  })
  .strict();

/** The largest config version a node can run: `nodes.config_version` is a Postgres integer. */
const MAX_CONFIG_VERSION = 2_147_483_647;

export const HeartbeatInput = z
  .object({
    metrics: HeartbeatMetricsInput.default({}),
    /**
     * The node's public endpoint as it sees it (e.g. from STUN): a `reported` candidate, second only to
     * an operator-set endpoint (see src/mesh/endpoints.ts).
     */
    endpoint: Endpoint.optional(),
    /** The config version the agent runs (a Postgres integer: at most 2^31 − 1). */
    configVersion: z.number().int().min(0).max(MAX_CONFIG_VERSION).optional(),
    /** Where the node can be reached (agents from before these fields send none and still work). */
    candidates: EndpointCandidatesInput.optional(),
    /** The latest handshake with each mesh peer the node has shaken hands with. */
    handshakes: z.array(PeerHandshakeInput).max(MAX_REPORTED_HANDSHAKES).optional(),
    /** The agent's own version (kept until a heartbeat names another). */
    agentVersion: AgentVersion.optional(),
    version: AgentVersion.optional().meta({ description: "Same as `agentVersion`" }),
  })
  .strict()
  .transform(({ version, ...beat }, ctx) => {
    const agentVersion = sameUnderTwoNames("agentVersion", "version", beat.agentVersion, version, ctx);
    return agentVersion === undefined ? beat : { ...beat, agentVersion };
  });
export type HeartbeatInput = z.infer<typeof HeartbeatInput>;

/** An agent's rotation of its own key (see rekey.service.ts for the proof). */
export const RotateNodeKeyInput = z
  .object({
    publicKey: WgKey.meta({ description: "The node's new public key, made on the node" }),
    proof: z
      .string()
      .regex(/^[A-Za-z0-9+/]{43}=$/, "must be 44 characters of base64 (an HMAC-SHA256)")
      .meta({
        description:
          'base64(HMAC-SHA256(X25519(current private key, hub public key), "wiresync-key-rotation-v1\\n" + nodeId + "\\n" + current public key + "\\n" + new public key))',
      }),
  })
  .strict();
export type RotateNodeKeyInput = z.infer<typeof RotateNodeKeyInput>;
