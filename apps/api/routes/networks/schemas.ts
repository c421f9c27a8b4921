import { z } from "@hono/zod-openapi";
import type { ReissuedConfig } from "../../../../src/mesh/index.js";
import { ConfigLinkSchema } from "../nodes/schemas.js";

export const NetworkSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    cidr4: z.string().openapi({ example: "10.10.0.0/24" }),
    cidr6: z.string().nullable().openapi({ example: "fd00:10::/64" }),
    listenPort: z.number().int(),
    endpoint: z.string().nullable().openapi({ example: "vpn.example.com:51820" }),
    topology: z.enum(["hub", "mesh"]),
    dns: z.array(z.string()),
    mtu: z.number().int().nullable(),
    persistentKeepalive: z.number().int().nullable(),
    defaultMonthlyQuotaBytes: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Monthly byte quota of nodes that set none; null: no limit" }),
    hubPublicKey: z.string(),
    hubIp4: z.string(),
    hubIp6: z.string().nullable(),
    standbyHubId: z
      .string()
      .nullable()
      .openapi({ description: "HUB_ID of the hub host that takes the network over when its lease expires" }),
    presharedKeys: z.enum(["off", "hub", "all"]).openapi({
      description:
        "Which tunnels carry preshared keys: `off` (only nodes given one with POST /nodes/{id}/psk), " +
        "`hub` (every node with its hub), `all` (also, in a mesh, every pair of nodes). The keys are only " +
        "ever in the configs of the nodes they protect",
    }),
    nextHubPublicKey: z
      .string()
      .nullable()
      .openapi({ description: "The hub's next public key while a hub key rotation is under way" }),
    nodeCount: z.number().int().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Network");

/** Who serves a network (admins only): the lease holder, also after its lease expired. */
export const NetworkHubSchema = z
  .object({
    state: z.enum(["serving", "owner-absent", "unassigned"]),
    holder: z
      .string()
      .nullable()
      .openapi({ description: "The hub host id (HUB_ID) holding the lease, if any" }),
  })
  .openapi("NetworkHub", {
    description:
      "`serving`: a live hub host holds the lease; `owner-absent`: its holder stopped renewing (or declared hosts are all gone); `unassigned`: no host declares it in WG_INTERFACES",
  });

/** Server-held nodes whose config changed: how each gets its new one. */
export const ReissuedConfigsSchema = z
  .array(
    z.object({
      nodeId: z.uuid(),
      name: z.string(),
      emailQueuedTo: z.string().optional(),
      configLink: ConfigLinkSchema.optional(),
    }),
  )
  .openapi({
    description:
      "Every enabled node whose key the server holds and whose config changed: its new config was queued by email, or here is a one-time link to it (shown once)",
  });

/** `ReissuedConfigsSchema` of `reissued`, links as URLs under `base`. */
export function reissuedAnswer(base: string, reissued: readonly ReissuedConfig[]) {
  return reissued.map(({ nodeId, name, delivery }) =>
    "email" in delivery
      ? { nodeId, name, emailQueuedTo: delivery.email }
      : {
          nodeId,
          name,
          configLink: {
            id: delivery.link.id,
            url: `${base}/api/v1/nodes/${nodeId}/config/link?token=${delivery.link.token}`,
            expiresAt: delivery.link.expiresAt.toISOString(),
          },
        },
  );
}

export const NodeRefSchema = z.object({ nodeId: z.uuid(), name: z.string() }).openapi("NodeRef");

export const HubKeyRotationStateSchema = z
  .object({
    networkId: z.uuid(),
    pending: z.boolean(),
    hubPublicKey: z.string(),
    nextHubPublicKey: z.string().nullable(),
    startedAt: z.string().nullable(),
    deadline: z
      .string()
      .nullable()
      .openapi({ description: "When the hub switches even if some agents have not confirmed" }),
    waiting: z
      .array(
        NodeRefSchema.extend({
          configVersion: z.number().int(),
          appliedConfigVersion: z.number().int().nullable(),
        }),
      )
      .openapi({ description: "Agent nodes still to apply the config that names the next hub key" }),
    confirmed: z.number().int(),
    serverHeld: z.array(NodeRefSchema).openapi({
      description: "Nodes whose key the server holds: their config is reissued after the switch",
    }),
    manual: z.array(NodeRefSchema).openapi({
      description:
        "Nodes with neither an agent nor a server-held key: they lose the hub at the switch until given the new hub key by hand",
    }),
  })
  .openapi("HubKeyRotationState");
