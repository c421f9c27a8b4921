/**
 * Metrics of the WebSocket relay (`/api/v1/relay`), registered on the process's registry by
 * `createMetrics`. Labels are closed sets: never a node id or key.
 */
import type { Registry } from "prom-client";
import { Counter, Gauge } from "prom-client";

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;

/** Why the relay dropped a datagram. */
export type RelayDropReason = "malformed" | "no-peer" | "backpressure";

export function createRelayMetrics(registry: Registry) {
  return {
    sessions: new Gauge({
      name: "wiresync_relay_sessions",
      help: "Nodes connected to this process's WebSocket relay",
      registers: [registry],
    }),
    bytes: new Counter({
      name: "wiresync_relayed_bytes_total",
      help: "WireGuard datagram bytes through this process's relay: in from nodes, out to nodes",
      labelNames: ["direction"] as const,
      registers: [registry],
    }),
    dropped: new Counter({
      name: "wiresync_relay_dropped_total",
      help: "Datagrams the relay dropped: malformed, no such peer connected in the sender's network, or the receiver's buffer full",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
  };
}
