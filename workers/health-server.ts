/**
 * A worker process's own health endpoints (`WORKER_HEALTH_PORT`): `/health/live` answers while the
 * event loop runs; `/health/ready` runs the platform's readiness checks — Postgres, Redis and the
 * `workers` progress check, which fails while a job or scheduler tick has run past
 * `WORKER_STUCK_AFTER_MS` — so an orchestrator can restart or route around a wedged worker. The API's
 * `/health/ready` reports only what runs in its own process; a worker's state is read here.
 */
import type { ServerType } from "@hono/node-server";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { HealthService } from "../src/health/index.js";

export interface WorkerHealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the two endpoints on `host:port` (port 0: any free one). Resolves once it listens. */
export async function serveWorkerHealth(
  health: HealthService,
  host: string,
  port: number,
): Promise<WorkerHealthServer> {
  const app = new Hono();
  app.get("/health/live", (c) => c.json({ status: "ok" }));
  app.get("/health/ready", async (c) => {
    const readiness = await health.ready();
    return c.json(readiness, readiness.status === "ok" ? 200 : 503);
  });
  let server: ServerType | undefined;
  const listening = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: host, port }, (info) => resolve(info.port));
  });
  return {
    port: listening,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
}
