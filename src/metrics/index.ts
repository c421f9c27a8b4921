/**
 * Prometheus metrics. One registry per process (tests build several apps, so never the global one);
 * every metric wiresync exports is declared here so names and labels stay consistent.
 * Labels never carry ids or user input: routes are patterns, not paths.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { createRelayMetrics } from "./relay.js";

export type { RelayDropReason, RelayMetrics } from "./relay.js";

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "wiresync" });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "wiresync_" });

  return {
    registry,
    httpRequests: new Counter({
      name: "wiresync_http_requests_total",
      help: "HTTP requests served, by method, route pattern and status",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "wiresync_http_request_duration_seconds",
      help: "HTTP request latency, by method, route pattern and status",
      labelNames: ["method", "route", "status"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    jobsProcessed: new Counter({
      name: "wiresync_jobs_processed_total",
      help: "Jobs finished by workers in this process, by queue, job name and outcome",
      labelNames: ["queue", "job", "outcome"] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: "wiresync_job_duration_seconds",
      help: "Job processing time, by queue and job name",
      labelNames: ["queue", "job"] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [registry],
    }),
    driftDetected: new Counter({
      name: "wiresync_drift_detected_total",
      help: "Differences between the database and a WireGuard interface found by reconciles, by kind",
      labelNames: ["network", "kind"] as const,
      registers: [registry],
    }),
    interfaceWrites: new Counter({
      name: "wiresync_interface_writes_total",
      help: "Writes made to WireGuard interfaces by peer sync (one per non-empty plan with the userspace API)",
      labelNames: ["interface"] as const,
      registers: [registry],
    }),
    interfacePeers: new Gauge({
      name: "wiresync_interface_peers",
      help: "Peers on each managed WireGuard interface at the last reconcile",
      labelNames: ["interface"] as const,
      registers: [registry],
    }),
    relay: createRelayMetrics(registry),
  };
}
