/**
 * Worker entry point: serves the queues named in `WORKER_QUEUES` (default all) and runs the scheduler.
 * With `WORKER_HEALTH_PORT` it answers `/health/live` and `/health/ready` there (see health-server.ts).
 * SIGTERM/SIGINT: stop taking jobs, let in-flight ones finish within 10 s, close connections, exit 0.
 */
import { boot } from "../src/boot.js";
import { HubConflictError } from "../src/hubs/index.js";
import { openPlatform } from "../src/platform.js";
import { serveWorkerHealth } from "./health-server.js";
import { startWorkerRole } from "./start.js";

const { config, logger } = await boot("worker");
const platform = await openPlatform({ ...config, logger });
let role: Awaited<ReturnType<typeof startWorkerRole>>;
try {
  role = await startWorkerRole(platform, config, logger);
} catch (err) {
  if (!(err instanceof HubConflictError)) throw err;
  logger.fatal({ hubId: config.hubs.id }, err.message);
  process.stderr.write(`wiresync: ${err.message}\n`);
  await platform.close();
  process.exit(1);
}
logger.info(
  { queues: [...role.runtime.workers.keys()], scheduler: Boolean(role.scheduler) },
  "workers started",
);
const healthServer =
  config.workers.healthPort === undefined
    ? undefined
    : await serveWorkerHealth(platform.services.health, config.http.host, config.workers.healthPort);
if (healthServer) logger.info({ port: healthServer.port }, "worker health endpoints listening");

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  await healthServer?.close();
  const { forced } = await role.stop();
  await platform.close();
  logger.info({ forced }, "workers stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
