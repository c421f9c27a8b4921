import { z } from "@hono/zod-openapi";

export const IceQuery = z.object({
  nodeId: z
    .uuid()
    .optional()
    .openapi({
      param: { name: "nodeId", in: "query" },
      description: "The node the credentials are for: an admin must name one; a node's token gets its own",
    }),
});

export const IceServersSchema = z
  .object({
    iceServers: z.array(
      z.object({
        urls: z.array(z.string()).openapi({ example: ["turn:turn.example.com:3478?transport=udp"] }),
        username: z
          .string()
          .optional()
          .openapi({ description: "`<unix expiry>:<node id>` (coturn REST-API scheme); TURN entries only" }),
        credential: z.string().optional().openapi({
          description: "base64 HMAC-SHA1 of `username` under coturn's shared secret; TURN entries only",
        }),
        ttl: z.number().int().optional().openapi({ description: "Seconds the credential is valid" }),
      }),
    ),
    expiresAt: z
      .string()
      .nullable()
      .openapi({ description: "When the TURN credential expires; null without TURN" }),
  })
  .openapi("IceServers");
