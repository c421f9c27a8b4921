/** Input of routing requests, in the form decentralised-VPN nodes send it. */
import { z } from "zod";
import { NatTypeInput } from "../mesh/index.js";
import { parseIp } from "../wireguard/index.js";

export const RoutingRequestInput = z
  .object({
    clientId: z.uuid().meta({
      description: "The id of the node that needs a relay (a node's token may ask only for itself)",
    }),
    requirements: z
      .object({
        minBandwidth: z
          .number()
          .min(0)
          .max(1_000_000)
          .optional()
          .meta({ description: "Least free bandwidth a relay must have, megabits per second" }),
        maxLatency: z
          .number()
          .min(0)
          .max(600_000)
          .optional()
          .meta({ description: "Most latency a relay may report, milliseconds" }),
      })
      .strict()
      .default({}),
    clientNetworkInfo: z
      .object({
        ipv4: z
          .string()
          .refine((v) => parseIp(v)?.family === 4, "must be an IPv4 address")
          .optional()
          .meta({ description: "The client's public IPv4 address (accepted; the score does not use it)" }),
        natType: NatTypeInput.optional().meta({
          description: "The client's NAT type now (any spelling of `natType`); the registered one otherwise",
        }),
      })
      .strict()
      .default({}),
  })
  .strict();
export type RoutingRequestInput = z.infer<typeof RoutingRequestInput>;
