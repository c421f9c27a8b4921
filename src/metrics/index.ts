/**
 * Prometheus metrics. One registry per process (tests build several apps, so never the global one);
 * every metric wiresync exports is declared here or in the files it re-exports (fleet gauges in
 * `nodes.ts`, queue gauges in `queues.ts`, registered by the platform), so names and labels stay
 * consistent (active connections in `connections.ts`). Labels never carry ids: routes are patterns,
 * not paths; networks and nodes go by the names admins gave them.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { createRelayMetrics } from "./relay.js";

export type { NodeGaugeSource, NodeStatusCount } from "./connections.js";
export { registerConnectionGauge } from "./connections.js";
export type { FleetMetricsOptions, FleetSource } from "./nodes.js";
export { HANDSHAKE_AGE_BUCKETS, registerNodeMetrics } from "./nodes.js";
export type { QueueDepthReading, QueueSource } from "./queues.js";
export { registerQueueMetrics } from "./queues.js";
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
    nodeLatency: new Histogram({
      name: "wiresync_node_latency_seconds",
      help: "Latency nodes reported in heartbeats received by this process (their round trip to the hub)",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    heartbeats: new Counter({
      name: "wiresync_heartbeats_total",
      help: "Heartbeats stored by this process, by path: steady (one statement, nothing but metrics and time changed) or full (a transaction)",
      labelNames: ["path"] as const,
      registers: [registry],
    }),
    collectErrors: new Counter({
      name: "wiresync_metrics_collect_errors_total",
      help: "Scrapes in which a metric could not be read (its series are missing from that scrape), by metric",
      labelNames: ["metric"] as const,
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
