import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Hono } from "hono";
import { createApp } from "../../../apps/api/app.js";
import { createLogger } from "../../../src/logger.js";
import { createMetrics } from "../../../src/metrics/index.js";

const logger = createLogger({ level: "info", pretty: false, destination: createWriteStream("/dev/null") });
const app = createApp({
  services: {} as never,
  configFeed: () => ({}) as never,
  logger,
  metrics: createMetrics() as never,
  sessionTtlSeconds: 3600,
  streamSlots: {} as never,
});
const bare = new Hono();
bare.get("/ping", (c) => c.json({ status: "ok" }));
const N = Number(process.env.N ?? 20000);
async function loop(fetch: (r: Request) => Response | Promise<Response>, url: string) {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const res = await fetch(new Request(url));
    if (res.status !== 200) throw new Error(String(res.status));
    await res.text();
    res.headers.get("x");
  }
  return N / ((performance.now() - t0) / 1000);
}
for (let r = 0; r < 5; r++) {
  const o = await loop(app.fetch, "http://localhost/health/live");
  const b = await loop(bare.fetch, "http://localhost/ping");
  console.log(`ours ${o.toFixed(0)}/s bare ${b.toFixed(0)}/s ratio ${(o / b).toFixed(3)}`);
}
