/**
 * A node's status from evidence, and when a change of it is worth an alert. Pure: the caller hands in
 * the evidence, the thresholds and the time.
 *
 * Evidence: the agent's heartbeats (seconds apart), the node's latest handshake with the hub as the
 * hub's interface shows it (WireGuard counts in seconds), and the latency the agent reports (ms).
 */

const SECOND_MS = 1_000;

export interface StatusThresholds {
  /** A heartbeat at most this old counts (`NODE_OFFLINE_AFTER_SECONDS`). */
  heartbeatFreshSeconds: number;
  /** A hub handshake at most this old counts (`RECENT_HANDSHAKE_SECONDS`, 180). */
  handshakeFreshSeconds: number;
  /** Reported latency above this many milliseconds makes a reporting node degraded. */
  maxLatencyMs: number;
}

export interface StatusEvidence {
  /** The node's latest heartbeat, when its agent ever sent one. */
  lastHeartbeatAt: Date | null;
  /** The node's latest handshake with the hub, when the hub's interface ever showed one. */
  hubHandshakeAt: Date | null;
  /** Latency the agent reported with its latest heartbeat. */
  latencyMs: number | null;
  isDisabled: boolean;
  /** True when the node was ever seen (a heartbeat or a handshake): silent ones are offline, not pending. */
  wasSeen: boolean;
}

export type EvidenceStatus = "pending" | "online" | "degraded" | "offline" | "disabled";

export interface StatusDecision {
  status: EvidenceStatus;
  /** Why, in words for people (shown with `degraded`). */
  reason: string;
}

const ageSeconds = (at: Date, now: Date) => (now.getTime() - at.getTime()) / SECOND_MS;

/**
 * The status the evidence supports at `now`:
 * - `online`: a fresh heartbeat with a fresh hub handshake (or none known: a network whose hub
 *   interface nobody reads, a mesh), or no fresh heartbeat but a fresh hub handshake (a node without
 *   an agent);
 * - `degraded`: fresh heartbeats, but the hub handshake known for the node is older than
 *   `handshakeFreshSeconds` (the agent runs, its tunnel does not), or latency over `maxLatencyMs`;
 * - `offline`: seen once, neither fresh now; `pending`: never seen; `disabled` overrides all.
 * Exactly at a threshold still counts as fresh.
 */
export function decideStatus(e: StatusEvidence, t: StatusThresholds, now: Date): StatusDecision {
  if (e.isDisabled) return { status: "disabled", reason: "disabled by an operator" };
  const heartbeat =
    e.lastHeartbeatAt !== null && ageSeconds(e.lastHeartbeatAt, now) <= t.heartbeatFreshSeconds;
  const handshake =
    e.hubHandshakeAt === null
      ? "unknown"
      : ageSeconds(e.hubHandshakeAt, now) <= t.handshakeFreshSeconds
        ? "fresh"
        : "stale";
  if (heartbeat) {
    if (handshake === "stale")
      return {
        status: "degraded",
        reason: `heartbeats arrive but the last handshake with the hub is over ${t.handshakeFreshSeconds} s old`,
      };
    if (e.latencyMs !== null && e.latencyMs > t.maxLatencyMs)
      return { status: "degraded", reason: `latency ${e.latencyMs} ms is over ${t.maxLatencyMs} ms` };
    return { status: "online", reason: "heartbeats arrive" };
  }
  if (handshake === "fresh") return { status: "online", reason: "a recent handshake with the hub" };
  return e.wasSeen || e.lastHeartbeatAt !== null || e.hubHandshakeAt !== null
    ? { status: "offline", reason: "no recent heartbeat or hub handshake" }
    : { status: "pending", reason: "never seen" };
}

/** True for the statuses in which a node is up (reachable, perhaps poorly). */
export const isUp = (status: string): boolean => status === "online" || status === "degraded";

/**
 * Flap damping: a node that goes down again within `windowSeconds` of its last offline alert raises
 * no new alert (its changes are still events, `node.flapping`). Returns true when this going-offline
 * is worth an alert. Exactly `windowSeconds` after the last alert is outside the window.
 */
export function shouldAlertOffline(
  lastOfflineAlertAt: Date | null,
  now: Date,
  windowSeconds: number,
): boolean {
  return lastOfflineAlertAt === null || ageSeconds(lastOfflineAlertAt, now) >= windowSeconds;
}

/**
 * Whether a node coming back up announces it (`node.online`): yes, unless the going-down it ends was
 * itself damped (a bounce within the flap window, which announced nothing either).
 */
export function shouldAnnounceOnline(lastOfflineAt: Date | null, lastOfflineAlertAt: Date | null): boolean {
  if (lastOfflineAt === null || lastOfflineAlertAt === null) return true;
  return lastOfflineAt.getTime() <= lastOfflineAlertAt.getTime();
}

/** A node's config lags when its agent reported applying a version older than the current one. */
export function isConfigLagging(configVersion: number, appliedConfigVersion: number | null): boolean {
  return appliedConfigVersion !== null && appliedConfigVersion < configVersion;
}
