/**
 * API entry point: the HTTP server alone (run workers with `workers/main.ts`). Never imports workers.
 */
import { boot } from "../../src/boot.js";
import { openPlatform } from "../../src/platform.js";
import { createPlatformApp } from "./app.js";
import { baseUrl, listen, platformRelay } from "./server.js";

const { config, logger } = await boot("api");
const platform = await openPlatform({ ...config, logger });
const app = createPlatformApp(platform, config.auth.jwtTtlSeconds, {
  metricsToken: config.auth.metricsToken,
  publicUrl: config.http.publicUrl,
  trustProxy: config.http.trustProxy,
  corsOrigins: config.http.corsOrigins,
});
const server = await listen(app, config.http.port, config.http.host, platformRelay(platform));
logger.info({ url: baseUrl(config.http.publicUrl, config.http.host, server.port) }, "api listening");

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  await server.close();
  await platform.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
