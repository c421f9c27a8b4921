import { z } from "@hono/zod-openapi";

export const NodeSchema = z
  .object({
    id: z.uuid(),
    networkId: z.uuid(),
    name: z.string(),
    email: z.string().nullable(),
    publicKey: z.string(),
    ip4: z.string(),
    ip6: z.string().nullable(),
    endpoint: z.string().nullable(),
    extraAllowedIps: z.array(z.string()),
    role: z.enum(["peer", "relay", "hub"]),
    status: z.enum(["pending", "online", "offline", "disabled"]),
    natType: z.string().nullable(),
    networkInfo: z.record(z.string(), z.unknown()),
    capabilities: z.record(z.string(), z.unknown()),
    location: z.record(z.string(), z.unknown()),
    metrics: z.record(z.string(), z.unknown()),
    tags: z.array(z.string()),
    hasServerKey: z
      .boolean()
      .openapi({ description: "The server generated and holds this node's private key" }),
    lastSeenAt: z.string().nullable(),
    lastHandshakeAt: z.string().nullable(),
    configVersion: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
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
