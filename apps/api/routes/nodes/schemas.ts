import { z } from "@hono/zod-openapi";
import { NAT_TYPES } from "../../../../src/nat/index.js";

export const NodeSchema = z
  .object({
    id: z.uuid(),
    networkId: z.uuid(),
    name: z.string(),
    email: z.string().nullable(),
    publicKey: z.string(),
    ip4: z.string(),
    ip6: z.string().nullable(),
    endpoint: z.string().nullable().openapi({ description: "Set by an operator; wins over reported ones" }),
    endpointCandidates: z
      .object({
        listenPort: z.number().int().nullable(),
        addresses: z.array(z.string()),
        reported: z.string().nullable(),
        reflexive: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: "Where the node's agent says it can be reached; null without an agent" }),
    extraAllowedIps: z.array(z.string()),
    role: z.enum(["peer", "relay", "hub"]),
    status: z.enum(["pending", "online", "degraded", "offline", "disabled"]).openapi({
      description:
        "From evidence: `online` (heartbeats, or a recent hub handshake), `degraded` (heartbeats but a stale hub handshake, or latency over 1000 ms), `offline`, `pending` (never seen), `disabled`",
    }),
    disabledReason: z.enum(["operator", "quota"]).nullable().openapi({
      description: "Why the node is disabled: `quota` nodes come back at the month's turn (UTC)",
    }),
    monthlyQuotaBytes: z.number().int().nullable().openapi({
      description: "Bytes (received + sent) per UTC month; null: the network's default",
    }),
    natType: z
      .enum(NAT_TYPES)
      .nullable()
      .openapi({ description: "Canonical form of what the node registered (`FullCone` → `full-cone`)" }),
    networkInfo: z.record(z.string(), z.unknown()),
    capabilities: z.record(z.string(), z.unknown()),
    location: z.record(z.string(), z.unknown()),
    metrics: z.record(z.string(), z.unknown()).openapi({
      description:
        "The last heartbeat's metrics, canonical names: cpu, memory, connections, latencyMs, bandwidthUsed",
    }),
    agentVersion: z.string().nullable().openapi({ description: "The version its agent last reported" }),
    tags: z.array(z.string()),
    hasServerKey: z
      .boolean()
      .openapi({ description: "The server generated and holds this node's private key" }),
    hasPresharedKey: z.boolean().openapi({
      description: "The node has a preshared key with its hub; the key itself is only in the node's config",
    }),
    keyRotationRequestedAt: z.string().nullable().openapi({
      description: "When an operator asked the node's agent to rotate its key; null when none is pending",
    }),
    keyRotatedAt: z.string().nullable().openapi({ description: "When the node's key last rotated" }),
    previousPublicKey: z.string().nullable().openapi({
      description:
        "The key the last rotation replaced; the hub keeps it (without addresses) until the new key has shaken hands",
    }),
    lastSeenAt: z.string().nullable(),
    lastHandshakeAt: z.string().nullable(),
    configVersion: z.number().int().openapi({ description: "The node's current (desired) config version" }),
    appliedConfigVersion: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The config version its agent last reported running; null without an agent" }),
    configLagging: z
      .boolean()
      .openapi({ description: "The agent runs an older config than `configVersion`" }),
    createdAt: z.string(),
    updatedAt: z.string(),
    meshPeers: z
      .array(
        z.object({
          id: z.uuid(),
          name: z.string(),
          endpoint: z.string().nullable(),
          source: z.enum(["operator", "reported", "lan", "reflexive"]).nullable(),
        }),
      )
      .optional()
      .openapi({
        description:
          "Mesh only, on a single node's read: the endpoint this node's config names for each other " +
          "node (null: this node reaches it only after that node reached this one)",
      }),
  })
  .openapi("Node");

export const EnrollmentKeySchema = z
  .object({
    id: z.uuid(),
    networkId: z.uuid(),
    prefix: z.string(),
    description: z.string().nullable(),
    reusable: z.boolean(),
    maxUses: z.number().int().nullable(),
    uses: z.number().int(),
    expiresAt: z.string().nullable(),
    role: z.enum(["peer", "relay", "hub"]),
    tags: z.array(z.string()),
    revokedAt: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    usable: z.boolean(),
  })
  .openapi("EnrollmentKey");

export const ConfigLinkSchema = z
  .object({
    id: z.uuid(),
    url: z.string().openapi({
      description:
        "GET it (no credentials) to download the config once; `&format=qr` for the QR code. It holds the node's private key: hand it to one person",
      example: "https://wiresync.example.com/api/v1/nodes/3f0c…/config/link?token=wsl_…",
    }),
    expiresAt: z.string(),
  })
  .openapi("ConfigLink");

export const ConfigLinkQuery = z.object({
  token: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "token", in: "query" }, description: "The link's token (`wsl_…`)" }),
});
