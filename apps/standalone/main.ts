/**
 * `npm start`: API, every worker and the scheduler in one process, on the embedded database unless
 * `DATABASE_URL` is set, and on a private redis-server when none answers at `REDIS_URL`.
 */

import { boot } from "../../src/boot.js";
import { openPlatform } from "../../src/platform.js";
import { ensureRedis } from "../../src/queue/index.js";
import { startWorkerRole } from "../../workers/start.js";
import { createPlatformApp } from "../api/app.js";
import { baseUrl, listen, platformRelay } from "../api/server.js";

const { config, logger } = await boot("standalone");

let redis: Awaited<ReturnType<typeof ensureRedis>>;
try {
  redis = await ensureRedis(config.redis.url, config.dataDir);
} catch (err) {
  process.stderr.write(`wiresync: ${(err as Error).message}\n`);
  process.exit(1);
}
if (redis.child) logger.info({ url: redis.url, dir: config.dataDir }, "started a private redis-server");

const platform = await openPlatform({ ...config, redis: { ...config.redis, url: redis.url }, logger });
const role = await startWorkerRole(platform, config, logger).catch(async (err: unknown) => {
  process.stderr.write(`wiresync: ${(err as Error).message}\n`);
  await platform.close();
  await redis.stop();
  process.exit(1);
});

const app = createPlatformApp(platform, config.auth.jwtTtlSeconds, {
  metricsToken: config.auth.metricsToken,
  publicUrl: config.http.publicUrl,
  trustProxy: config.http.trustProxy,
  corsOrigins: config.http.corsOrigins,
});
const server = await listen(app, config.http.port, config.http.host, platformRelay(platform));
const url = baseUrl(config.http.publicUrl, config.http.host, server.port);
logger.info(
  { url, database: platform.database.kind, queues: [...role.runtime.workers.keys()] },
  "wiresync started",
);
process.stdout.write(
  `${[
    "",
    `  wiresync is running (${platform.database.kind === "pglite" ? "embedded database" : "PostgreSQL"})`,
    `    API         ${url}/api/v1`,
    `    Docs        ${url}/docs`,
    `    Queues      ${url}/admin/queues?api_key=<admin key>`,
    `    Dashboard   ${url}/`,
    `    Health      ${url}/health/ready`,
    "",
  ].join("\n")}\n`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  await server.close();
  const { forced } = await role.stop();
  await platform.close();
  await redis.stop();
  logger.info({ forced }, "stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
