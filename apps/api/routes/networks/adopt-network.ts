import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { DomainError } from "../../../../src/errors.js";
import { ADOPT_REFUSALS } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

const AdoptQuery = z.object({
  dryRun: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ description: "Show what would be adopted and refused, changing nothing" }),
});

const AdoptedPeer = z.object({
  id: z.uuid().nullable().openapi({ description: "The new node's id; null in a dry run" }),
  name: z.string(),
  publicKey: z.string(),
  ip4: z.string(),
  ip6: z.string().nullable(),
  endpoint: z.string().nullable(),
  extraAllowedIps: z.array(z.string()),
  hasPresharedKey: z.boolean(),
  line: z.number().int().optional().openapi({ description: "Its [Peer] line in the wg0.conf" }),
});

const RefusedPeer = z.object({
  publicKey: z.string(),
  name: z.string(),
  reason: z.enum(ADOPT_REFUSALS),
  message: z.string(),
  line: z.number().int().optional(),
});

export const AdoptResult = z.object({
  dryRun: z.boolean(),
  source: z.enum(["interface", "conf"]),
  iface: z.string().nullable(),
  counts: z.object({ seen: z.number().int(), adopted: z.number().int(), refused: z.number().int() }),
  adopted: z.array(AdoptedPeer),
  refused: z.array(RefusedPeer),
  hubKeyMatches: z.boolean().nullable().openapi({
    description: "Whether the wg0.conf's PrivateKey is the network's hub key; null when it names none",
  }),
  hubKey: z.enum(["matches", "would be imported", "imported"]).nullable().openapi({
    description:
      "What happens to the wg0.conf's [Interface] PrivateKey (and ListenPort): imported as the network's hub key and port when they differ (only while the network has no nodes), or they match; null when it names none. The key itself is never returned",
  }),
  hubPublicKey: z.string().openapi({ description: "The network's hub public key after adoption" }),
  listenPort: z.number().int().openapi({ description: "The network's listen port after adoption" }),
  configDownloadable: z.literal(false).openapi({
    description: "Adopted nodes hold no private key: wiresync serves their configs only as templates",
  }),
  notes: z.array(z.string()),
});

export const route = createRoute({
  method: "post",
  path: "/api/v1/networks/{id}/adopt",
  tags: ["networks"],
  summary: "Adopt the peers of an existing interface as nodes, without touching the interface",
  description:
    "With an empty body, the peer-sync worker that owns the network's interface reads its peers; with a `text/plain` body, the peers of that wg0.conf are taken. Each peer's one address inside the network becomes the node's address and its other allowed IPs the routes behind it; the `# comment` line before a `[Peer]` names it. Peers outside the network, without an address, or colliding with the hub, a node or another peer are refused with their reason. A wg0.conf whose [Interface] has a PrivateKey other than the network's hub key imports it (and its ListenPort) as the network's, while the network has no nodes; its Address must be the network's hub address. The interface is not written: afterwards drift is 0.",
  ...access.admin,
  request: {
    params: IdParam,
    query: AdoptQuery,
    body: {
      required: false,
      content: { "text/plain": { schema: z.string().openapi({ description: "A wg0.conf" }) } },
    },
  },
  responses: {
    200: jsonResponse(envelope(AdoptResult), "What was (or, in a dry run, would be) adopted and refused"),
    ...problemResponses,
  },
});

export function registerAdoptNetwork(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const dryRun = c.req.valid("query").dryRun === "true";
    const text = await c.req.text();
    const type = c.req.header("content-type") ?? "";
    if (text.trim() !== "" && !/^text\/plain\b/i.test(type))
      throw new DomainError(
        "VALIDATION_FAILED",
        "send a wg0.conf as a text/plain body, or no body to read the interface",
      );
    const source = text.trim() === "" ? ({ kind: "interface" } as const) : ({ kind: "conf", text } as const);
    const result = await c.var.services.adopt.adopt(
      id,
      source,
      { dryRun },
      { principal: c.get("principal"), requestId: c.get("requestId") },
    );
    return c.json({ success: true as const, data: result }, 200);
  });
}
