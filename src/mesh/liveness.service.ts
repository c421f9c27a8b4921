/** Liveness: heartbeats, hub handshakes, which pairs reach each other, and marking silent nodes offline. */
import { invalidNodeClaim, type NodeClaim } from "../auth/index.js";
import type { NodeStatus, Tx } from "../db/index.js";
import { candidatesKey, heartbeatCandidates, sameCandidates } from "./endpoints.js";
import type { MeshCore } from "./mesh.core.js";
import type { NetworkRow, NodeRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import type { HeartbeatInput } from "./mesh.schema.js";
import { nodeStatusCounts } from "./node-stats.repo.js";
import type { StatusDecision } from "./node-status.js";
import {
  decideStatus,
  isConfigLagging,
  isUp,
  shouldAlertOffline,
  shouldAnnounceOnline,
} from "./node-status.js";
import type { ReachabilityReport } from "./reachability.js";
import { handshakeStatus, RECENT_HANDSHAKE_SECONDS, reachabilityReport } from "./reachability.js";
import { markSeenThroughHub, reachabilityInputs, recordPeerHandshakes } from "./reachability.repo.js";
import type { NodeView } from "./views.js";
import { toNodeView } from "./views.js";

export type LivenessService = ReturnType<typeof createLivenessService>;

/** A node whose agent runs an older config than the current one. */
export interface LaggingNode {
  id: string;
  name: string;
  configVersion: number;
  appliedConfigVersion: number;
}

/**
 * Which way a heartbeat was stored: `steady` (one conditional statement: nothing but metrics and
 * time changed) or `full` (a transaction holding the node's row, deciding status, reach and events).
 */
export type HeartbeatPath = "steady" | "full";

interface RememberedBeat extends Pick<NodeRow, "status" | "lastHandshakeAt" | "ip4" | "ip6"> {
  candidatesKey: string;
}

/** A node reporting more latency than this (ms) is `degraded`. */
export const MAX_LATENCY_MS = 1_000;
/** A node going offline again within this many seconds of its last offline alert raises none. */
export const FLAP_WINDOW_SECONDS = 10 * 60;
/** Nodes whose last heartbeat each API process remembers (see `steadyHeartbeat`): ~100 bytes each. */
const REMEMBERED_NODES = 100_000;

/** Liveness: heartbeats, hub handshakes, reachability, and marking silent nodes offline. */
export function createLivenessService(
  core: MeshCore,
  hooks: {
    /**
     * A node reported a config version it applied that this process had not heard from it: a hub
     * key rotation may be waiting for it (`rekey.hubKeyConfirmed`).
     */
    configApplied?: (networkId: string) => Promise<unknown>;
  } = {},
) {
  const { inTx, requireNetwork, requireNode, emitNodeEvent, refreshConfigs, commitAndDispatch, db } = core;

  /**
   * Announces a node that came up (from pending or offline): `node.online`, or `node.flapping` when
   * the going-down it ends raised no alert either (see `shouldAnnounceOnline`).
   */
  async function announceUp(
    tx: Tx,
    row: NodeRow,
    network: Pick<NetworkRow, "id" | "name">,
    previousStatus: string,
    extra: Record<string, unknown>,
    source: string,
  ): Promise<void> {
    const facts = { previousStatus, status: row.status, lastSeenAt: row.lastSeenAt, ...extra };
    const type = shouldAnnounceOnline(row.lastOfflineAt, row.offlineAlertedAt)
      ? "node.online"
      : "node.flapping";
    await emitNodeEvent(tx, type, row, network, facts, source);
  }

  /**
   * The nodes of a network whose agent runs an older config version than the current one, with
   * both versions. Throws NETWORK_NOT_FOUND.
   */
  async function laggingNodes(networkId: string): Promise<LaggingNode[]> {
    await requireNetwork(db, networkId);
    const rows = await repo.nodesOfNetwork(db, networkId);
    return rows
      .filter((n) => isConfigLagging(n.configVersion, n.appliedConfigVersion))
      .map((n) => ({
        id: n.id,
        name: n.name,
        configVersion: n.configVersion,
        appliedConfigVersion: n.appliedConfigVersion!,
      }));
  }

  /**
   * The status a heartbeat arriving `now` gives a node that was `before`: the one `decideStatus`
   * gives (a heartbeat arriving now is fresh whatever the window), except that a disabled node stays
   * as it is.
   */
  function heartbeatStatus(
    before: Pick<NodeRow, "status" | "lastHandshakeAt">,
    input: HeartbeatInput,
    now: Date,
  ): { decision: StatusDecision; status: NodeStatus } {
    const decision = decideStatus(
      {
        lastHeartbeatAt: now,
        hubHandshakeAt: before.lastHandshakeAt,
        latencyMs: input.metrics.latencyMs ?? null,
        isDisabled: before.status === "disabled",
        wasSeen: true,
      },
      {
        heartbeatFreshSeconds: 0,
        handshakeFreshSeconds: RECENT_HANDSHAKE_SECONDS,
        maxLatencyMs: MAX_LATENCY_MS,
      },
      now,
    );
    return { decision, status: decision.status === "disabled" ? before.status : decision.status };
  }

  /**
   * Per node, what its last heartbeat here left (most recent last; at most `REMEMBERED_NODES`): the
   * status and hub handshake the next heartbeat's status is decided from, the addresses its
   * candidates are normalised against, and the stored candidates (as `candidatesKey`) they are
   * compared with, when nothing else changed.
   */
  const lastBeats = new Map<string, RememberedBeat>();
  /** Per node, the applied config version its last heartbeat here reported (same bound as `lastBeats`). */
  const lastApplied = new Map<string, number>();
  function remember(row: NodeRow): void {
    lastBeats.delete(row.id);
    if (lastApplied.size >= REMEMBERED_NODES && !lastApplied.has(row.id))
      lastApplied.delete(lastApplied.keys().next().value!);
    if (lastBeats.size >= REMEMBERED_NODES) lastBeats.delete(lastBeats.keys().next().value!);
    lastBeats.set(row.id, {
      status: row.status,
      lastHandshakeAt: row.lastHandshakeAt,
      ip4: row.ip4,
      ip6: row.ip6,
      candidatesKey: candidatesKey(row.endpointCandidates),
    });
  }

  /** The node's row locked, when `claim` is its token; UNAUTHENTICATED (no lock taken) otherwise. */
  async function lockNodeOfClaim(tx: Tx, nodeId: string, claim: NodeClaim): Promise<NodeRow> {
    const row = await repo.lockNodeByToken(tx, nodeId, claim.tokenHash);
    if (!row) throw invalidNodeClaim();
    return row;
  }

  /**
   * Most heartbeats change nothing but the metrics and the time: the same status, and the same
   * endpoint candidates as stored (or none reported), hence no event and no config change. Such a
   * heartbeat is stored in one statement, without a transaction, which applies only while the row
   * still has the status, hub handshake, addresses and candidates remembered from the node's last
   * heartbeat (those the decision was made from). Returns the stored row, or undefined when the
   * heartbeat must take the full way (first seen here, new candidates, a status change, or the row
   * changed meanwhile).
   */
  async function steadyHeartbeat(
    nodeId: string,
    input: HeartbeatInput,
    now: Date,
    remoteAddress: string | undefined,
    claim: NodeClaim | undefined,
  ): Promise<(NodeRow & { hubPublicKey: string }) | undefined> {
    const known = lastBeats.get(nodeId);
    if (!known || heartbeatStatus(known, input, now).status !== known.status) return undefined;
    const candidates = heartbeatCandidates(known, input, remoteAddress);
    if (candidates && candidatesKey(candidates) !== known.candidatesKey) return undefined;
    return repo.recordSteadyHeartbeat(
      db,
      nodeId,
      {
        metrics: input.metrics,
        seenAt: now,
        appliedConfigVersion: input.configVersion ?? null,
        agentVersion: input.agentVersion,
      },
      { ...known, candidates, tokenHash: claim?.tokenHash },
    );
  }

  return {
    /**
     * A node reports in: marks it online, stores its metrics, its endpoint candidates (seen from
     * `observed.remoteAddress`, see endpoints.ts) and the handshakes it reports with its peers. When
     * its candidates changed, refreshes the configs that name it (a mesh: every node's). When this
     * brings it online (from pending or offline), emits `node.online` in the same transaction. Returns
     * the node (whose config version it should run) and the way it was stored (`path`). With `claim`
     * (a caller not yet authenticated), stores it only when the claim's token is the node's, checked
     * in the statement that stores it or locks the row, and otherwise changes nothing and throws
     * UNAUTHENTICATED. Throws NODE_NOT_FOUND.
     */
    async heartbeat(
      nodeId: string,
      input: HeartbeatInput,
      observed: { remoteAddress?: string | undefined } = {},
      claim?: NodeClaim,
    ): Promise<{ node: NodeView; wentOnline: boolean; path: HeartbeatPath }> {
      const now = new Date();
      const steady = await steadyHeartbeat(nodeId, input, now, observed.remoteAddress, claim);
      const result = steady
        ? { node: toNodeView(steady), wentOnline: false, row: steady }
        : await commitAndDispatch(`node ${nodeId} heartbeat`, async (tx, effects) => {
            // IMPORTANT: locked, so of two racing heartbeats only one sees the old status and emits.
            const before = claim
              ? await lockNodeOfClaim(tx, nodeId, claim)
              : await requireNode(tx, nodeId, true);
            const candidates = heartbeatCandidates(before, input, observed.remoteAddress);
            const reachChanged =
              candidates !== undefined && !sameCandidates(candidates, before.endpointCandidates);
            const { decision, status } = heartbeatStatus(before, input, now);
            const appliedConfigVersion = input.configVersion ?? null;
            const row = (
              reachChanged
                ? await repo.updateNode(tx, nodeId, {
                    metrics: input.metrics,
                    lastSeenAt: now,
                    endpointCandidates: candidates,
                    status,
                    ...(appliedConfigVersion !== null ? { appliedConfigVersion } : {}),
                    ...(input.agentVersion ? { agentVersion: input.agentVersion } : {}),
                  })
                : await repo.recordHeartbeat(tx, nodeId, {
                    metrics: input.metrics,
                    seenAt: now,
                    status,
                    appliedConfigVersion,
                    agentVersion: input.agentVersion,
                  })
            )!;
            const wentOnline = !isUp(before.status) && isUp(row.status);
            const statusChanged = before.status !== row.status;
            if (!reachChanged && !statusChanged) return { node: toNodeView(row), wentOnline, row };
            const network = await requireNetwork(tx, row.networkId, reachChanged);
            if (reachChanged) await refreshConfigs(tx, network, effects, new Set([nodeId]));
            const source = `node:${nodeId}`;
            if (wentOnline) await announceUp(tx, row, network, before.status, {}, source);
            if (row.status === "degraded" && statusChanged)
              await emitNodeEvent(
                tx,
                "node.degraded",
                row,
                network,
                { previousStatus: before.status, reason: decision.reason },
                source,
              );
            else if (row.status === "online" && before.status === "degraded")
              await emitNodeEvent(
                tx,
                "node.online",
                row,
                network,
                { previousStatus: before.status, lastSeenAt: row.lastSeenAt },
                source,
              );
            return { node: toNodeView(row), wentOnline, row };
          });
      remember(result.row);
      // A handshake with the hub is no peer report: a hub-topology agent's only one costs no read.
      const handshakes = steady
        ? input.handshakes?.filter((h) => h.publicKey !== steady.hubPublicKey)
        : input.handshakes;
      const applied = input.configVersion;
      if (applied !== undefined && lastApplied.get(nodeId) !== applied) {
        lastApplied.set(nodeId, applied);
        if (hooks.configApplied) {
          // A hint: a lost one is caught by the scheduler's tick.
          await hooks
            .configApplied(result.row.networkId)
            .catch((err: unknown) => core.report(err, { networkId: result.row.networkId }));
        }
      }
      // Foot-gun: not in the transaction above. Its rows reference the peers' node rows, and a
      // reference waits for a peer's heartbeat holding its own row locked: two agents reporting each
      // other at once would deadlock. Reports are hints; a lost one is replaced by the next heartbeat.
      if (handshakes?.length) await recordPeerHandshakes(db, result.node, handshakes, now);
      return { node: result.node, wentOnline: result.wentOnline, path: steady ? "steady" : "full" };
    },

    /** Nodes by network name and status, with the connections online ones reported (for gauges). */
    nodeStatusCounts() {
      return nodeStatusCounts(db);
    },

    /**
     * Which pairs of a network (each node with the hub; in a mesh, each two nodes) shook hands
     * recently, by `reachabilityReport`, and which nodes' agents lag behind their config. Throws
     * NETWORK_NOT_FOUND.
     */
    async reachability(
      networkId: string,
    ): Promise<ReachabilityReport & { networkId: string; checkedAt: Date; lagging: LaggingNode[] }> {
      const network = await requireNetwork(db, networkId);
      const now = new Date();
      const inputs = await reachabilityInputs(db, networkId);
      return {
        networkId,
        checkedAt: now,
        ...reachabilityReport({ topology: network.topology, ...inputs, now }),
        lagging: await laggingNodes(networkId),
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
          await announceUp(tx, row, network, s.previousStatus, { via: "hub-handshake" }, "system");
        }
        return seen.length;
      });
    },

    /**
     * Marks up (online or degraded) nodes not heard from since `before` offline, in one transaction
     * (a heartbeat racing it either lands first and keeps its node up, or after and brings it back).
     * Each raises `node.offline`, the alert, unless it raised one less than `FLAP_WINDOW_SECONDS`
     * before `now`: a bouncing node then gets `node.flapping` (status offline) instead, so ten
     * bounces in the window make one alert. Returns the nodes it marked.
     */
    async markStaleNodesOffline(before: Date, now = new Date()): Promise<NodeView[]> {
      return inTx(async (tx) => {
        const silent = await repo.lockSilentNodes(tx, before);
        const networks = await repo.getNetworks(tx, [...new Set(silent.map((r) => r.networkId))]);
        const marked: NodeView[] = [];
        for (const node of silent) {
          const alert = shouldAlertOffline(node.offlineAlertedAt, now, FLAP_WINDOW_SECONDS);
          const row = (await repo.updateNode(tx, node.id, {
            status: "offline",
            lastOfflineAt: now,
            ...(alert ? { offlineAlertedAt: now } : {}),
          }))!;
          // The node rows are locked, so their networks cannot be deleted under us.
          const network = networks.find((n) => n.id === row.networkId)!;
          const facts = { lastSeenAt: row.lastSeenAt, previousStatus: node.status, status: "offline" };
          await emitNodeEvent(tx, alert ? "node.offline" : "node.flapping", row, network, facts, "system");
          marked.push(toNodeView(row));
        }
        return marked;
      });
    },

    laggingNodes,
  };
}
