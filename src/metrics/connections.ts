/**
 * Connections online nodes reported in their last heartbeat, read from the database at each scrape
 * (the truth, whichever process received the heartbeats). Nodes by status are in `nodes.ts`.
 */
import { Gauge, type Registry } from "prom-client";

/** One network's nodes of one status, and the connections the online ones reported. */
export interface NodeStatusCount {
  /** The network's name (an admin's choice, few of them; never a node's id). */
  network: string;
  status: string;
  count: number;
  /** Sum of the last heartbeat's `connections` of these nodes (0 unless `status` is online). */
  connections: number;
}

/** Where the gauge reads from at each scrape. */
export interface NodeGaugeSource {
  nodeStatusCounts(): Promise<readonly NodeStatusCount[]>;
}

/**
 * Registers `wiresync_active_connections{network}` on `registry`, computed from `source` when
 * scraped (one grouped count). A network without nodes disappears from it. A failing source fails
 * the scrape (Prometheus marks the target down) rather than reporting stale numbers.
 */
export function registerConnectionGauge(registry: Registry, source: NodeGaugeSource) {
  return new Gauge({
    name: "wiresync_active_connections",
    help: "Connections online nodes reported in their last heartbeat, summed by network",
    labelNames: ["network"] as const,
    registers: [registry],
    async collect() {
      const rows = await source.nodeStatusCounts();
      this.reset();
      const byNetwork = new Map<string, number>();
      for (const r of rows) byNetwork.set(r.network, (byNetwork.get(r.network) ?? 0) + r.connections);
      for (const [network, sum] of byNetwork) this.set({ network }, sum);
    },
  });
}
