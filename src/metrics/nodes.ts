/**
 * Gauges of the mesh's nodes, read from the database at each scrape (the truth, whichever process
 * received the heartbeats): nodes by network and status, and the connections online nodes reported.
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

/** Where the gauges read from at each scrape. */
export interface NodeGaugeSource {
  nodeStatusCounts(): Promise<readonly NodeStatusCount[]>;
}

/**
 * Registers `wiresync_nodes{network,status}` and `wiresync_active_connections{network}` on
 * `registry`, both computed from `source` when scraped (a grouped count, once per gauge). A
 * network without nodes disappears from them. A failing source fails the scrape (Prometheus marks
 * the target down) rather than reporting stale numbers.
 */
export function registerNodeGauges(registry: Registry, source: NodeGaugeSource) {
  const nodes = new Gauge({
    name: "wiresync_nodes",
    help: "Nodes by network and status (pending, online, offline, disabled)",
    labelNames: ["network", "status"] as const,
    registers: [registry],
    async collect() {
      const rows = await source.nodeStatusCounts();
      this.reset();
      for (const r of rows) this.set({ network: r.network, status: r.status }, r.count);
    },
  });
  const connections = new Gauge({
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
  return { nodes, connections };
}
