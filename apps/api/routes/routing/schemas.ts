import { z } from "@hono/zod-openapi";
import { NAT_TYPES } from "../../../../src/nat/index.js";

const Breakdown = z
  .object({
    latency: z.number(),
    capacity: z.number(),
    bandwidth: z.number(),
    nat: z.number(),
    region: z.number(),
  })
  .openapi({
    description: "Points of each part: latency /35, capacity /25, bandwidth /20, NAT /10, region /10",
  });

const Rejected = z.object({
  id: z.uuid(),
  name: z.string(),
  reason: z.string().openapi({ description: "Why this relay cannot serve the client" }),
});

export const RoutingAnswerSchema = z
  .object({
    clientId: z.uuid(),
    networkId: z.uuid(),
    client: z.object({
      natType: z.enum(NAT_TYPES),
      region: z.string().nullable(),
      country: z.string().nullable(),
    }),
    relays: z
      .array(
        z.object({
          id: z.uuid(),
          name: z.string(),
          score: z.number().openapi({ description: "Out of 100, one decimal; higher is better" }),
          reason: z.string().openapi({
            example:
              "latency 20 ms: 33.6/35; 45 of 50 connections free: 22.5/25; 400 Mbps free: 8/20; relay NAT none: 10/10; same region eu-west: 10/10",
          }),
          breakdown: Breakdown,
          publicKey: z.string(),
          ip4: z.string(),
          endpoint: z.string().nullable(),
          natType: z.enum(NAT_TYPES).nullable(),
          latencyMs: z.number().nullable(),
          connections: z.number().int().nullable(),
          maxConnections: z.number().int().nullable(),
          freeBandwidthMbps: z.number().nullable(),
        }),
      )
      .openapi({ description: "Relays that can serve the client, best first (ties by id)" }),
    rejected: z.array(Rejected),
  })
  .openapi("RoutingAnswer");
