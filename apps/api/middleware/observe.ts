/**
 * Per-request logging and metrics: one `request completed` line carrying the request id (URL
 * credentials redacted), and the HTTP counter and latency histogram labelled by route pattern. A
 * request's own child logger (carrying its request id) is made only when something logs through it
 * (`requestLogger`): making one runs pino's redaction over its bindings, a large part of a trivial
 * request's cost.
 */
import type { Context } from "hono";
import type { Logger } from "../../../src/logger.js";
import { redactUrl } from "../../../src/logger.js";
import type { Metrics } from "../../../src/metrics/index.js";
import type { AppEnv } from "../env.js";

/** The root logger of each app, by its `observe` middleware's context variable. */
const ROOT = "rootLogger";

/**
 * The request's logger: a child of the app's logger carrying the request id, made on first use and
 * kept for the rest of the request. Undefined before `observe` has run (an error in an earlier
 * middleware).
 */
export function requestLogger(c: Context<AppEnv>): Logger | undefined {
  let log = c.get("logger");
  const root = c.get(ROOT) as Logger | undefined;
  if (!log && root) {
    log = root.child({ requestId: c.get("requestId") });
    c.set("logger", log);
  }
  return log;
}

/** What `observe` gives the app's per-request middleware: call `begin` first and `end` once answered. */
export interface RequestObserver {
  /** Makes the logger and metrics reachable; returns the request's start time for `end`. */
  begin(c: Context<AppEnv>): number;
  /** Counts the request, records its latency and logs it. */
  end(c: Context<AppEnv>, started: number): void;
}

export function observe(logger: Logger, metrics: Metrics): RequestObserver {
  /**
   * prom-client children per (method, route, status), so a request makes no labels object.
   * prom-client still checks and hashes the labels on every call (about 0.4 µs for the histogram
   * and 0.35 µs for the counter, measured on the dev machine).
   */
  const series = new Map<
    string,
    {
      count: ReturnType<Metrics["httpRequests"]["labels"]>;
      latency: ReturnType<Metrics["httpDuration"]["labels"]>;
    }
  >();
  const seriesOf = (method: string, route: string, status: string) => {
    const key = `${method} ${status} ${route}`;
    let s = series.get(key);
    if (!s) {
      s = {
        count: metrics.httpRequests.labels(method, route, status),
        latency: metrics.httpDuration.labels(method, route, status),
      };
      series.set(key, s);
    }
    return s;
  };
  const begin = (c: Context<AppEnv>) => {
    c.set(ROOT, logger);
    c.set("metrics", metrics);
    return performance.now();
  };
  const end = (c: Context<AppEnv>, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    const status = c.res.status;
    const route = status === 404 && c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    const s = seriesOf(c.req.method, route, String(status));
    s.count.inc();
    s.latency.observe(seconds);
    const path = c.req.path;
    const level =
      status >= 500 ? "error" : path.startsWith("/health") || path === "/metrics" ? "debug" : "info";
    if (!logger.isLevelEnabled(level)) return;
    const url = c.req.url;
    const query = url.indexOf("?");
    logger[level](
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: redactUrl(query === -1 ? path : path + url.slice(query)),
        status,
        durationMs: Math.round(seconds * 1000 * 10) / 10,
        principal: c.get("principal")?.kind,
      },
      "request completed",
    );
  };
  return { begin, end };
}
