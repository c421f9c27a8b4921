/**
 * Bull Board at `/admin/queues`. It has no login of its own: the admin guard in front of it accepts
 * a session cookie, which `/admin/queues?api_key=…` sets (then redirects the key out of the URL).
 * The board shows the four shared queues and every hub host's peer-sync queue; the list is read
 * again when a board request comes in more than `BOARD_REFRESH_MS` after the last read.
 */
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Queue } from "bullmq";
import type { Hono } from "hono";
import type { AppEnv } from "./env.js";

export const BOARD_PATH = "/admin/queues";
/** How long the board keeps one reading of which queues exist. */
export const BOARD_REFRESH_MS = 10_000;

/** The queues to show: a reading made again every `BOARD_REFRESH_MS` (hub hosts come and go). */
export type BoardQueues = () => Promise<readonly Queue[]>;

export function mountBoard(app: Hono<AppEnv>, queues: BoardQueues) {
  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(BOARD_PATH);
  const adapters = new Map<string, { queue: Queue; adapter: BullMQAdapter }>();
  const adapt = (list: readonly Queue[]) =>
    list.map((queue) => {
      let known = adapters.get(queue.name);
      if (known?.queue !== queue) {
        known = { queue, adapter: new BullMQAdapter(queue) };
        adapters.set(queue.name, known);
      }
      return known.adapter;
    });
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: "wiresync queues" } },
  });

  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  const refresh = () => {
    reading ??= queues()
      .then((list) => {
        const shown = adapt(list);
        const names = new Set(list.map((q) => q.name));
        for (const name of [...adapters.keys()]) if (!names.has(name)) adapters.delete(name);
        board.replaceQueues(shown);
        readAt = Date.now();
      })
      // A failed reading keeps the queues shown before; the next request tries again.
      .catch(() => {})
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  const fresh = async (_c: unknown, next: () => Promise<void>) => {
    if (Date.now() - readAt >= BOARD_REFRESH_MS) await refresh();
    await next();
  };
  app.use(BOARD_PATH, fresh);
  app.use(`${BOARD_PATH}/*`, fresh);
  app.route(BOARD_PATH, serverAdapter.registerPlugin());
}
