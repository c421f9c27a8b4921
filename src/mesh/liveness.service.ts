/** Liveness: heartbeats, hub handshakes, which pairs reach each other, and marking silent nodes offline. */
import { heartbeatCandidates, sameCandidates } from "./endpoints.js";
import type { MeshCore } from "./mesh.core.js";
import * as repo from "./mesh.repo.js";
import type { HeartbeatInput } from "./mesh.schema.js";
import { nodeStatusCounts } from "./node-stats.repo.js";
import type { ReachabilityReport } from "./reachability.js";
import { handshakeStatus, reachabilityReport } from "./reachability.js";
import { markSeenThroughHub, reachabilityInputs, recordPeerHandshakes } from "./reachability.repo.js";
import type { NodeView } from "./views.js";
import { toNodeView } from "./views.js";

export type LivenessService = ReturnType<typeof createLivenessService>;

/** Liveness: heartbeats, hub handshakes, reachability, and marking silent nodes offline. */
export function createLivenessService(core: MeshCore) {
  const { inTx, requireNetwork, requireNode, emitNodeEvent, refreshConfigs, commitAndDispatch, db } = core;
  return {
    /**
     * A node reports in: marks it online, stores its metrics, its endpoint candidates (seen from
     * `observed.remoteAddress`, see endpoints.ts) and the handshakes it reports with its peers. When
     * its candidates changed, refreshes the configs that name it (a mesh: every node's). When this
     * brings it online (from pending or offline), emits `node.online` in the same transaction. Returns
     * the node (whose config version it should run). Throws NODE_NOT_FOUND.
     */
    async heartbeat(
      nodeId: string,
      input: HeartbeatInput,
      observed: { remoteAddress?: string | undefined } = {},
    ): Promise<{ node: NodeView; wentOnline: boolean }> {
      const now = new Date();
      const result = await commitAndDispatch(`node ${nodeId} heartbeat`, async (tx, effects) => {
        // IMPORTANT: locked, so of two racing heartbeats only one sees the old status and emits.
        const before = await requireNode(tx, nodeId, true);
        const candidates = heartbeatCandidates(before, input, observed.remoteAddress);
        const reachChanged =
          candidates !== undefined && !sameCandidates(candidates, before.endpointCandidates);
        const online = before.status !== "disabled";
        const row = (
          reachChanged
            ? await repo.updateNode(tx, nodeId, {
                metrics: input.metrics,
                lastSeenAt: now,
                endpointCandidates: candidates,
                ...(input.agentVersion ? { agentVersion: input.agentVersion } : {}),
                ...(online ? { status: "online" as const } : {}),
              })
            : await repo.recordHeartbeat(tx, nodeId, {
                metrics: input.metrics,
                seenAt: now,
                online,
                agentVersion: input.agentVersion,
              })
        )!;
        const wentOnline = before.status !== "online" && row.status === "online";
        if (!reachChanged && !wentOnline) return { node: toNodeView(row), wentOnline };
        const network = await requireNetwork(tx, row.networkId, reachChanged);
        if (reachChanged) await refreshConfigs(tx, network, effects, new Set([nodeId]));
        if (wentOnline) {
          const extra = { previousStatus: before.status, lastSeenAt: row.lastSeenAt };
          await emitNodeEvent(tx, "node.online", row, network, extra, `node:${nodeId}`);
        }
        return { node: toNodeView(row), wentOnline };
      });
      // Foot-gun: not in the transaction above. Its rows reference the peers' node rows, and a
      // reference waits for a peer's heartbeat holding its own row locked: two agents reporting each
      // other at once would deadlock. Reports are hints; a lost one is replaced by the next heartbeat.
      if (input.handshakes?.length) await recordPeerHandshakes(db, result.node, input.handshakes, now);
      return result;
    },

    /** Nodes by network name and status, with the connections online ones reported (for gauges). */
    nodeStatusCounts() {
      return nodeStatusCounts(db);
    },

    /**
     * Which pairs of a network (each node with the hub; in a mesh, each two nodes) shook hands
     * recently, by `reachabilityReport`. Throws NETWORK_NOT_FOUND.
     */
    async reachability(
      networkId: string,
    ): Promise<ReachabilityReport & { networkId: string; checkedAt: Date }> {
      const network = await requireNetwork(db, networkId);
      const now = new Date();
      const inputs = await reachabilityInputs(db, networkId);
      return {
        networkId,
        checkedAt: now,
        ...reachabilityReport({ topology: network.topology, ...inputs, now }),
      };
    },

    /**
     * The hub's interface showed these handshakes (Unix seconds, as WireGuard reports them): nodes
     * with a recent one are seen (`lastSeenAt`) and online — how a node without an agent shows up —
     * and each that was not online gets `node.online`. The liveness check takes them offline again
     * once handshakes stop. Returns how many nodes went online.
     */
    async recordHubHandshakes(
      networkId: string,
      readings: readonly { publicKey: string; latestHandshake: number }[],
      now = new Date(),
    ): Promise<number> {
      const recent = readings
        .filter((r) => r.latestHandshake > 0)
        .map((r) => ({ publicKey: r.publicKey, at: new Date(r.latestHandshake * 1000) }))
        .filter((h) => handshakeStatus(h.at, now) === "recent");
      if (recent.length === 0) return 0;
      return inTx(async (tx) => {
        const seen = await markSeenThroughHub(tx, networkId, recent);
        if (seen.length === 0) return 0;
        const network = await requireNetwork(tx, networkId);
        for (const s of seen) {
          const row = (await repo.getNode(tx, s.id))!;
          const extra = {
            previousStatus: s.previousStatus,
            lastSeenAt: row.lastSeenAt,
            via: "hub-handshake",
          };
          await emitNodeEvent(tx, "node.online", row, network, extra, "system");
        }
        return seen.length;
      });
    },

    /**
     * Marks online nodes not heard from since `before` offline and emits `node.offline` for each, in
     * one transaction (a heartbeat racing it either lands first and keeps its node online, or after
     * and brings it back with `node.online`). Returns the nodes it marked.
     */
    async markStaleNodesOffline(before: Date): Promise<NodeView[]> {
      return inTx(async (tx) => {
        const rows = await repo.markOffline(tx, before);
        const networks = await repo.getNetworks(tx, [...new Set(rows.map((r) => r.networkId))]);
        for (const row of rows) {
          // The node rows are locked, so their networks cannot be deleted under us.
          const network = networks.find((n) => n.id === row.networkId)!;
          await emitNodeEvent(tx, "node.offline", row, network, { lastSeenAt: row.lastSeenAt }, "system");
        }
        return rows.map(toNodeView);
      });
    },
  };
}
