import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { AppEnv } from "../../env.js";
import { IdParam } from "../../http/envelope.js";
import { problemResponses, tooManyResponse } from "../../http/problem.js";
import { guard } from "../../middleware/access.js";

const KEEPALIVE_MS = 25_000;

export const route = createRoute({
  method: "get",
  path: "/api/v1/nodes/{id}/config/stream",
  tags: ["agent"],
  summary:
    "Server-sent events for a node's agent (its own token only): `config` with each new config version",
  description:
    "A node may hold 4 streams at once, across all API processes; one more is refused with 429 `TOO_MANY_STREAMS`.",
  ...guard("node-self", { forbidden: "the config stream is for the node's own token" }),
  request: { params: IdParam },
  responses: {
    200: {
      content: { "text/event-stream": { schema: z.string() } },
      description: '`event: config` / `data: {"version":n}`',
    },
    ...problemResponses,
    ...tooManyResponse,
  },
});

export function registerStreamNodeConfig(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const version = await c.var.services.configs.configVersion(id);
    const feed = c.var.configFeed();
    const lease = await c.var.streamSlots.acquire(id);
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => void lease.release());
      let unwatch: (() => void) | undefined;
      try {
        let last = version;
        await stream.writeSSE({ event: "config", data: JSON.stringify({ version: last }) });
        unwatch = feed.watch(id, (a) => {
          if (a.version <= last) return;
          last = a.version;
          void stream.writeSSE({ event: "config", data: JSON.stringify({ version: a.version }) });
        });
        stream.onAbort(unwatch);
        while (!stream.aborted) {
          await stream.sleep(KEEPALIVE_MS);
          if (stream.aborted) break;
          await stream.write(": keepalive\n\n");
          await lease.renew();
        }
      } finally {
        unwatch?.();
        await lease.release();
      }
    });
  });
}
