import { z } from "@hono/zod-openapi";

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
    nextHubPublicKey: z
      .string()
      .nullable()
      .openapi({ description: "The hub's next public key while a hub key rotation is under way" }),
    nodeCount: z.number().int().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Network");

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
