/**
 * Per-request logging and metrics: a child logger carrying the request id for every line of the
 * request, one `request completed` line (URL credentials redacted), and the HTTP counter and latency
 * histogram labelled by route pattern.
 */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../../src/logger.js";
import { redactUrl } from "../../../src/logger.js";
import type { Metrics } from "../../../src/metrics/index.js";
import type { AppEnv } from "../env.js";

export function observe(logger: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = c.get("requestId");
    const log = logger.child({ requestId });
    c.set("logger", log);
    c.set("metrics", metrics);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const status = c.res.status;
    const route = status === 404 && c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    const labels = { method: c.req.method, route, status: String(status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    const url = new URL(c.req.url);
    const fields = {
      method: c.req.method,
      path: redactUrl(url.pathname + url.search),
      status,
      durationMs: Math.round(seconds * 1000 * 10) / 10,
      principal: c.get("principal")?.kind,
    };
    if (status >= 500) log.error(fields, "request completed");
    else if (url.pathname.startsWith("/health") || url.pathname === "/metrics")
      log.debug(fields, "request completed");
    else log.info(fields, "request completed");
  };
}
