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
