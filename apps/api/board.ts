/**
 * Bull Board at `/admin/queues`. It has no login of its own: the admin guard in front of it accepts
 * a session cookie, which `/admin/queues?api_key=…` sets (then redirects the key out of the URL).
 */
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Queue } from "bullmq";
import type { Hono } from "hono";
import type { AppEnv } from "./env.js";

export const BOARD_PATH = "/admin/queues";

export function mountBoard(app: Hono<AppEnv>, queues: readonly Queue[]) {
  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: "wiresync queues" } },
  });
  app.route(BOARD_PATH, serverAdapter.registerPlugin());
}
