/**
 * Reachability as data: which pairs of a network (a node and the hub, two mesh nodes) have shaken
 * hands recently. Pure: the caller hands in the handshakes and the time.
 *
 * Sources: a node's handshake with the hub is read from the hub's interface at usage collection
 * (`nodes.last_handshake_at`); a handshake between two mesh nodes is what either node's agent reported
 * with its heartbeats (the newer of the two reports counts for the pair).
 */
import type { Topology } from "../db/index.js";

/**
 * A handshake at most this old is recent. WireGuard renews a session's handshake every 2 minutes
 * while packets flow (and keepalives count), so a live pair is never older than ~2 minutes plus a
 * collection interval; 180 s leaves a minute of slack.
 */
export const RECENT_HANDSHAKE_SECONDS = 180;

const SECOND_MS = 1_000;

/** `recent`: within `RECENT_HANDSHAKE_SECONDS`; `stale`: older; `never`: no handshake known. */
export type HandshakeStatus = "recent" | "stale" | "never";

/**
 * The status of a handshake at `now`. Exactly `RECENT_HANDSHAKE_SECONDS` old is still recent; a
 * handshake stamped after `now` (a node's clock ahead of ours) is recent.
 */
export function handshakeStatus(lastHandshakeAt: Date | null, now: Date): HandshakeStatus {
  if (lastHandshakeAt === null) return "never";
  const ageMs = now.getTime() - lastHandshakeAt.getTime();
  return ageMs <= RECENT_HANDSHAKE_SECONDS * SECOND_MS ? "recent" : "stale";
}

/** The id the hub goes by in pairs. */
export const HUB_ID = "hub";

export interface ReachNode {
  id: string;
  name: string;
  status: string;
  lastSeenAt: Date | null;
  /** The node's latest handshake with the hub, from the hub's interface. */
  hubHandshakeAt: Date | null;
}

/** One agent's report: `nodeId` last shook hands with `peerId` at `lastHandshakeAt`. */
export interface PeerHandshakeReport {
  nodeId: string;
  peerId: string;
  lastHandshakeAt: Date;
}

export interface ReachPair {
  /** A node id, or `hub`. */
  a: string;
  b: string;
  lastHandshakeAt: Date | null;
  status: HandshakeStatus;
}

export interface ReachNodeSummary {
  id: string;
  name: string;
  status: string;
  lastSeenAt: Date | null;
  hubHandshakeAt: Date | null;
  /** The best status among the node's pairs. */
  reach: HandshakeStatus;
  /** Pairs of this node (the hub's included) that shook hands recently, of `pairs`. */
  recentPairs: number;
  pairs: number;
}

export interface ReachabilityReport {
  recentSeconds: number;
  nodes: ReachNodeSummary[];
  pairs: ReachPair[];
}

const RANK: Record<HandshakeStatus, number> = { never: 0, stale: 1, recent: 2 };

const later = (a: Date | null, b: Date | null) => (a === null ? b : b === null || a >= b ? a : b);

/**
 * Every pair a network's configs set up, with its latest handshake and status at `now`: each active
 * (not disabled) node with the hub, and in a mesh each two active nodes (`a` before `b` in `nodes`'
 * order). Reports about nodes not in `nodes` are ignored.
 */
export function reachabilityReport(input: {
  topology: Topology;
  nodes: readonly ReachNode[];
  reports: readonly PeerHandshakeReport[];
  now: Date;
}): ReachabilityReport {
  const { now } = input;
  const active = input.nodes.filter((n) => n.status !== "disabled");
  const heard = new Map<string, Date>();
  const key = (x: string, y: string) => (x < y ? `${x}|${y}` : `${y}|${x}`);
  for (const r of input.reports) {
    const k = key(r.nodeId, r.peerId);
    heard.set(k, later(heard.get(k) ?? null, r.lastHandshakeAt)!);
  }
  const pairs: ReachPair[] = [];
  const pair = (a: string, b: string, at: Date | null) =>
    pairs.push({ a, b, lastHandshakeAt: at, status: handshakeStatus(at, now) });
  for (const n of active) pair(HUB_ID, n.id, n.hubHandshakeAt);
  if (input.topology === "mesh") {
    for (let i = 0; i < active.length; i++)
      for (let j = i + 1; j < active.length; j++) {
        const [a, b] = [active[i]!.id, active[j]!.id];
        pair(a, b, heard.get(key(a, b)) ?? null);
      }
  }
  const summaries = new Map<string, ReachNodeSummary>(
    active.map((n) => [
      n.id,
      {
        id: n.id,
        name: n.name,
        status: n.status,
        lastSeenAt: n.lastSeenAt,
        hubHandshakeAt: n.hubHandshakeAt,
        reach: "never",
        recentPairs: 0,
        pairs: 0,
      },
    ]),
  );
  for (const p of pairs) {
    for (const id of [p.a, p.b]) {
      const s = summaries.get(id);
      if (!s) continue;
      s.pairs++;
      if (p.status === "recent") s.recentPairs++;
      if (RANK[p.status] > RANK[s.reach]) s.reach = p.status;
    }
  }
  return { recentSeconds: RECENT_HANDSHAKE_SECONDS, nodes: [...summaries.values()], pairs };
}
