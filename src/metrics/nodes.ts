/**
 * Fleet gauges: nodes by network and status, config versions lagging, handshake ages and (only with
 * `METRICS_PER_PEER=true`) per-peer transfer. Collected on scrape from aggregate queries, one query per
 * metric, whose rows grow with networks (and buckets), not nodes, except per-peer transfer (one series
 * per node: off by default for cardinality). A query that fails leaves its metric without series for
 * that scrape and counts in `wiresync_metrics_collect_errors_total`; the scrape itself still answers.
 */
import type { Metric, Registry } from "prom-client";
import { Counter, Gauge } from "prom-client";

/** Where the fleet gauges read from (the stats service implements it over the database). */
export interface FleetSource {
  nodes(): Promise<{ network: string; status: string; count: number }[]>;
  configLagging(): Promise<{ network: string; count: number }[]>;
  /** Cumulative bucket counts per network for the given upper bounds (seconds). */
  handshakeAges(
    bounds: readonly number[],
  ): Promise<{ network: string; buckets: number[]; sumSeconds: number; count: number }[]>;
  peerTransfer(): Promise<{ network: string; node: string; rxBytes: number; txBytes: number }[]>;
}

/** Handshake age buckets, in seconds: WireGuard re-handshakes every 2 minutes while traffic flows. */
export const HANDSHAKE_AGE_BUCKETS = [30, 60, 120, 180, 300, 600, 1_800, 3_600, 21_600, 86_400] as const;

export interface FleetMetricsOptions {
  /** Per-peer transfer counters (`METRICS_PER_PEER`): one series per node and direction. */
  perPeer: boolean;
  /** Counts a metric that could not be read in a scrape (`wiresync_metrics_collect_errors_total`). */
  onError: (metric: string) => void;
}

const HANDSHAKE_AGE = "wiresync_node_handshake_age_seconds";

/**
 * A histogram whose buckets the database counts: read at scrape time instead of accumulating
 * observations in this process (which would see only the handshakes it read itself). prom-client has
 * no histogram that takes bucket counts, so this is a metric object of its own, in the shape the
 * registry renders (`get()` with `_bucket`/`_sum`/`_count` values).
 */
function handshakeAgeHistogram(source: FleetSource, onError: (metric: string) => void) {
  type Value = { labels: Record<string, string | number>; value: number; metricName: string };
  return {
    name: HANDSHAKE_AGE,
    help: "Age of each node's latest WireGuard handshake, by network (nodes that never shook hands are left out)",
    type: "histogram",
    aggregator: "sum",
    collect() {},
    reset() {},
    async get() {
      const values: Value[] = [];
      try {
        for (const row of await source.handshakeAges(HANDSHAKE_AGE_BUCKETS)) {
          const network = row.network;
          HANDSHAKE_AGE_BUCKETS.forEach((le, i) => {
            values.push({
              labels: { le, network },
              value: row.buckets[i] ?? 0,
              metricName: `${HANDSHAKE_AGE}_bucket`,
            });
          });
          values.push(
            { labels: { le: "+Inf", network }, value: row.count, metricName: `${HANDSHAKE_AGE}_bucket` },
            { labels: { network }, value: row.sumSeconds, metricName: `${HANDSHAKE_AGE}_sum` },
            { labels: { network }, value: row.count, metricName: `${HANDSHAKE_AGE}_count` },
          );
        }
      } catch {
        onError(HANDSHAKE_AGE);
        values.length = 0;
      }
      return { name: HANDSHAKE_AGE, help: this.help, type: this.type, aggregator: this.aggregator, values };
    },
  };
}

/** Registers the fleet metrics on `registry`; they read `source` on every scrape. */
export function registerNodeMetrics(registry: Registry, source: FleetSource, options: FleetMetricsOptions) {
  const failed = options.onError;

  new Gauge({
    name: "wiresync_nodes",
    help: "Nodes by network and status (pending, online, offline, disabled)",
    labelNames: ["network", "status"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const r of await source.nodes()) this.set({ network: r.network, status: r.status }, r.count);
      } catch {
        this.reset();
        failed("wiresync_nodes");
      }
    },
  });

  new Gauge({
    name: "wiresync_node_config_lagging",
    help: "Nodes whose agent reported applying a config version older than the current one, by network",
    labelNames: ["network"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const r of await source.configLagging()) this.set({ network: r.network }, r.count);
      } catch {
        this.reset();
        failed("wiresync_node_config_lagging");
      }
    },
  });

  registry.registerMetric(handshakeAgeHistogram(source, failed) as unknown as Metric);

  if (!options.perPeer) return;
  // Both counters read one query per scrape: the registry starts every collect in the same tick, so
  // the second finds the first one's read in flight. The stored totals are the running sum, so each
  // scrape sets the counters to them afresh.
  let inFlight: ReturnType<FleetSource["peerTransfer"]> | undefined;
  const readTransfer = () => {
    inFlight ??= source.peerTransfer().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  for (const [name, direction, field] of [
    ["wiresync_peer_received_bytes_total", "received from", "rxBytes"],
    ["wiresync_peer_sent_bytes_total", "sent to", "txBytes"],
  ] as const) {
    new Counter({
      name,
      help: `Bytes the hub ${direction} each peer, over the usage history kept (METRICS_PER_PEER)`,
      labelNames: ["network", "node"] as const,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          for (const r of await readTransfer()) this.inc({ network: r.network, node: r.node }, r[field]);
        } catch {
          this.reset();
          failed(name);
        }
      },
    });
  }
}
