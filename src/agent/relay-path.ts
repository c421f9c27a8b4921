/**
 * How an agent reaches each mesh peer: directly, or through the WebSocket relay. Pure: the agent
 * observes the interface each tick and this decides, per peer, the next path and what to do.
 *
 * direct ──no fresh handshake──▶ trying ──none after `relayAfterMs`──▶ relayed ──every `probeEveryMs`──▶ probing
 *   ▲                              │ (a handshake: direct)               ▲ │                                │
 *   └──────────────────────────────┘                                     │ └─WireGuard followed the peer's   │
 *   ◀─────────────────────────────────────── direct packets ─────────────┼───direct packets: direct────────┘
 *                                     (none within `probeForMs`: relayed again, the next try later)
 *
 * Two facts of WireGuard make it work. A peer's endpoint follows the source of its latest
 * authenticated packet, so when the other side relays, our interface points at our relay port by
 * itself (and we count the peer as relayed); and when the other side's direct packets arrive, it
 * points away from it (and we count it as direct). While probing, the agent stops delivering the
 * peer's relayed packets, so anything the peer says arrives directly or not at all: bytes received
 * in that window prove the direct path both ways (they answer our poke).
 *
 * A pair whose NAT types cannot punch through to each other (both symmetric, say: `canReachDirectly`)
 * skips `trying`: without a fresh session the peer goes straight to relayed. It is still probed
 * directly every `probeEveryMs`, since a declared NAT type can be wrong (or the pair share a LAN).
 */
import type { NatType } from "../nat/index.js";
import { canReachDirectly } from "../nat/index.js";

export type PeerPath =
  /** The peer's own endpoint, and a session no older than `freshMs`. */
  | { mode: "direct" }
  /** Poking the peer directly (a datagram through the tunnel makes WireGuard shake hands). */
  | { mode: "trying"; sinceMs: number }
  /** The endpoint is the agent's relay port for the peer; `failedProbes` in a row so far. */
  | { mode: "relayed"; sinceMs: number; probeAtMs: number; failedProbes: number }
  /** The peer's own endpoint again for a while, its relayed packets held back; `rxBytes` at the start. */
  | { mode: "probing"; sinceMs: number; rxBytes: number; failedProbes: number };

export interface PathTimings {
  /** How long `trying` may go without a handshake before the peer is relayed. */
  relayAfterMs: number;
  /**
   * How long a relayed peer waits before it is tried directly again; doubled after each failed try,
   * up to `MAX_PROBE_BACKOFF` times (a try costs the pair up to `probeForMs` of lost datagrams).
   */
  probeEveryMs: number;
  /** How long one direct try of a relayed peer lasts. */
  probeForMs: number;
  /** A handshake younger than this means the session works (WireGuard rejects older keys: 180 s). */
  freshMs: number;
}

export const DEFAULT_TIMINGS: PathTimings = {
  relayAfterMs: 12_000,
  probeEveryMs: 60_000,
  probeForMs: 3_000,
  freshMs: 180_000,
};

/** What the agent saw of one peer this tick. */
export interface PeerObservation {
  nowMs: number;
  /** When the latest handshake was (ms); 0 for never. */
  handshakeAtMs: number;
  /** The interface's endpoint for the peer is the agent's relay port for it. */
  isViaRelay: boolean;
  /** Bytes received from the peer, as the interface counts them. */
  rxBytes: number;
  /** The config names an endpoint to try directly (else only the peer can reach us directly). */
  hasDirectEndpoint: boolean;
  /** This node's NAT type and the peer's, as the relay reports them (`unknown` when not known). */
  natTypes: { own: NatType; peer: NatType };
}

export interface PathStep {
  path: PeerPath;
  /** Set the peer's endpoint: its own (`direct`) or the agent's relay port (`relay`); none: leave it. */
  endpoint?: "direct" | "relay";
  /** Send a datagram to the peer through the tunnel (makes WireGuard shake hands, and the peer answer). */
  poke: boolean;
}

/** The longest wait between direct tries of a relayed peer, in `probeEveryMs`. */
export const MAX_PROBE_BACKOFF = 8;

const relayed = (nowMs: number, t: PathTimings, failedProbes = 0): PeerPath => ({
  mode: "relayed",
  sinceMs: nowMs,
  probeAtMs: nowMs + t.probeEveryMs * Math.min(2 ** failedProbes, MAX_PROBE_BACKOFF),
  failedProbes,
});

/** The next path of a peer on `path`, given what was seen of it. */
export function nextPath(path: PeerPath, seen: PeerObservation, t: PathTimings): PathStep {
  const isFresh = seen.handshakeAtMs > 0 && seen.nowMs - seen.handshakeAtMs < t.freshMs;
  const isDirectHopeless = !canReachDirectly(seen.natTypes.own, seen.natTypes.peer);
  switch (path.mode) {
    case "direct":
      // The peer went through the relay, and WireGuard followed it to our relay port.
      if (seen.isViaRelay) return { path: relayed(seen.nowMs, t), poke: false };
      if (isFresh) return { path, poke: false };
      if (isDirectHopeless) return { path: relayed(seen.nowMs, t), endpoint: "relay", poke: false };
      return { path: { mode: "trying", sinceMs: seen.nowMs }, poke: true };
    case "trying":
      if (seen.isViaRelay) return { path: relayed(seen.nowMs, t), poke: false };
      if (isFresh) return { path: { mode: "direct" }, poke: false };
      // The NAT types arrived while trying (the relay's peers message comes after the config).
      if (isDirectHopeless || seen.nowMs - path.sinceMs >= t.relayAfterMs)
        return { path: relayed(seen.nowMs, t), endpoint: "relay", poke: false };
      return { path, poke: true };
    case "relayed":
      // Only the peer's direct packets move the endpoint off our relay port (WireGuard roaming).
      if (!seen.isViaRelay) return { path: { mode: "direct" }, poke: false };
      if (seen.nowMs >= path.probeAtMs && seen.hasDirectEndpoint)
        return {
          path: {
            mode: "probing",
            sinceMs: seen.nowMs,
            rxBytes: seen.rxBytes,
            failedProbes: path.failedProbes,
          },
          endpoint: "direct",
          poke: true,
        };
      return { path, poke: false };
    case "probing":
      if (!seen.isViaRelay && seen.rxBytes > path.rxBytes) return { path: { mode: "direct" }, poke: false };
      if (seen.nowMs - path.sinceMs >= t.probeForMs)
        return { path: relayed(seen.nowMs, t, path.failedProbes + 1), endpoint: "relay", poke: false };
      return { path, poke: true };
  }
}
