import { describe, expect, it } from "vitest";
import type { PathStep, PathTimings, PeerObservation, PeerPath } from "../../../src/agent/relay-path.js";
import { nextPath } from "../../../src/agent/relay-path.js";
import type { NatType } from "../../../src/nat/index.js";

const T: PathTimings = { relayAfterMs: 10_000, probeEveryMs: 60_000, probeForMs: 3_000, freshMs: 180_000 };
const NOW = 1_000_000_000;
const seen = (over: Partial<PeerObservation> = {}): PeerObservation => ({
  nowMs: NOW,
  handshakeAtMs: 0,
  isViaRelay: false,
  rxBytes: 0,
  hasDirectEndpoint: true,
  natTypes: { own: "unknown", peer: "unknown" },
  ...over,
});
const nat = (own: NatType, peer: NatType) => ({ natTypes: { own, peer } });
const relayedSince = (ms: number, failedProbes = 0): PeerPath => ({
  mode: "relayed",
  sinceMs: ms,
  probeAtMs: ms + T.probeEveryMs * Math.min(2 ** failedProbes, 8),
  failedProbes,
});

describe("nextPath", () => {
  it.each<[string, PeerPath, Partial<PeerObservation>, PathStep]>([
    [
      "a direct peer with a session 179 s old stays direct",
      { mode: "direct" },
      { handshakeAtMs: NOW - 179_000 },
      { path: { mode: "direct" }, poke: false },
    ],
    [
      "a direct peer whose session is 180 s old is tried and poked",
      { mode: "direct" },
      { handshakeAtMs: NOW - 180_000 },
      { path: { mode: "trying", sinceMs: NOW }, poke: true },
    ],
    [
      "a direct peer that never shook hands is tried and poked",
      { mode: "direct" },
      {},
      { path: { mode: "trying", sinceMs: NOW }, poke: true },
    ],
    [
      "a direct peer whose endpoint WireGuard moved to our relay port is relayed, endpoint left alone",
      { mode: "direct" },
      { isViaRelay: true, handshakeAtMs: NOW },
      { path: relayedSince(NOW), poke: false },
    ],
    [
      "a tried peer that shook hands is direct",
      { mode: "trying", sinceMs: NOW - 2_000 },
      { handshakeAtMs: NOW - 1_000 },
      { path: { mode: "direct" }, poke: false },
    ],
    [
      "a tried peer without a handshake 9.999 s on is poked again",
      { mode: "trying", sinceMs: NOW - 9_999 },
      {},
      { path: { mode: "trying", sinceMs: NOW - 9_999 }, poke: true },
    ],
    [
      "a tried peer without a handshake 10 s on is relayed",
      { mode: "trying", sinceMs: NOW - 10_000 },
      {},
      { path: relayedSince(NOW), endpoint: "relay", poke: false },
    ],
    [
      "a tried peer that reached us through the relay is relayed",
      { mode: "trying", sinceMs: NOW - 1_000 },
      { isViaRelay: true },
      { path: relayedSince(NOW), poke: false },
    ],
    [
      "a relayed peer before its probe time stays relayed",
      relayedSince(NOW - 59_999),
      { isViaRelay: true },
      { path: relayedSince(NOW - 59_999), poke: false },
    ],
    [
      "a relayed peer at its probe time is tried directly, its rx counted",
      relayedSince(NOW - 60_000),
      { isViaRelay: true, rxBytes: 500 },
      {
        path: { mode: "probing", sinceMs: NOW, rxBytes: 500, failedProbes: 0 },
        endpoint: "direct",
        poke: true,
      },
    ],
    [
      "a relayed peer without an endpoint of its own is never probed",
      relayedSince(NOW - 600_000),
      { isViaRelay: true, hasDirectEndpoint: false },
      { path: relayedSince(NOW - 600_000), poke: false },
    ],
    [
      "a relayed peer whose endpoint moved off the relay (its direct packets) is direct",
      relayedSince(NOW - 5_000),
      { isViaRelay: false },
      { path: { mode: "direct" }, poke: false },
    ],
    [
      "a probed peer that sent bytes directly is direct",
      { mode: "probing", sinceMs: NOW - 1_000, rxBytes: 500, failedProbes: 0 },
      { rxBytes: 592 },
      { path: { mode: "direct" }, poke: false },
    ],
    [
      "a probed peer silent for 2.999 s is poked again",
      { mode: "probing", sinceMs: NOW - 2_999, rxBytes: 500, failedProbes: 0 },
      { rxBytes: 500 },
      { path: { mode: "probing", sinceMs: NOW - 2_999, rxBytes: 500, failedProbes: 0 }, poke: true },
    ],
    [
      "a probed peer silent for 3 s is relayed again, its next try 2 × 60 s on",
      { mode: "probing", sinceMs: NOW - 3_000, rxBytes: 500, failedProbes: 0 },
      { rxBytes: 500 },
      { path: relayedSince(NOW, 1), endpoint: "relay", poke: false },
    ],
    [
      "a peer whose fifth try failed waits 8 × 60 s, no longer",
      { mode: "probing", sinceMs: NOW - 3_000, rxBytes: 0, failedProbes: 4 },
      {},
      {
        path: { mode: "relayed", sinceMs: NOW, probeAtMs: NOW + 480_000, failedProbes: 5 },
        endpoint: "relay",
        poke: false,
      },
    ],
    [
      "a relayed peer that failed twice is tried again 240 s on, its failures remembered",
      relayedSince(NOW - 240_000, 2),
      { isViaRelay: true },
      {
        path: { mode: "probing", sinceMs: NOW, rxBytes: 0, failedProbes: 2 },
        endpoint: "direct",
        poke: true,
      },
    ],
  ])("%s", (_name, path, over, expected) => {
    expect(nextPath(path, seen(over), T)).toEqual(expected);
  });

  describe("by NAT types", () => {
    it.each<[string, PeerPath, Partial<PeerObservation>, PathStep]>([
      [
        "a symmetric node's symmetric peer without a session is relayed at once, not tried",
        { mode: "direct" },
        nat("symmetric", "symmetric"),
        { path: relayedSince(NOW), endpoint: "relay", poke: false },
      ],
      [
        "a symmetric node's port-restricted peer without a session is relayed at once",
        { mode: "direct" },
        nat("symmetric", "port-restricted-cone"),
        { path: relayedSince(NOW), endpoint: "relay", poke: false },
      ],
      [
        "a node without UDP is relayed at once to any peer",
        { mode: "direct" },
        nat("udp-blocked", "full-cone"),
        { path: relayedSince(NOW), endpoint: "relay", poke: false },
      ],
      [
        "a tried peer whose NAT type turns out symmetric, like ours, is relayed 1 s on",
        { mode: "trying", sinceMs: NOW - 1_000 },
        nat("symmetric", "symmetric"),
        { path: relayedSince(NOW), endpoint: "relay", poke: false },
      ],
      [
        "a symmetric pair with a fresh session stays direct (it works, whatever the types say)",
        { mode: "direct" },
        { ...nat("symmetric", "symmetric"), handshakeAtMs: NOW - 1_000 },
        { path: { mode: "direct" }, poke: false },
      ],
      [
        "a symmetric node's full-cone peer is tried as usual",
        { mode: "direct" },
        nat("symmetric", "full-cone"),
        { path: { mode: "trying", sinceMs: NOW }, poke: true },
      ],
      [
        "a symmetric node's peer of unknown type is tried as usual",
        { mode: "direct" },
        nat("symmetric", "unknown"),
        { path: { mode: "trying", sinceMs: NOW }, poke: true },
      ],
      [
        "a node of unknown type is tried as usual by its symmetric peer",
        { mode: "direct" },
        nat("unknown", "symmetric"),
        { path: { mode: "trying", sinceMs: NOW }, poke: true },
      ],
      [
        "a tried full-cone peer of a symmetric node is poked again 9.999 s on, not relayed",
        { mode: "trying", sinceMs: NOW - 9_999 },
        nat("symmetric", "full-cone"),
        { path: { mode: "trying", sinceMs: NOW - 9_999 }, poke: true },
      ],
      [
        "a relayed symmetric pair is still tried directly at its probe time",
        relayedSince(NOW - 60_000),
        { ...nat("symmetric", "symmetric"), isViaRelay: true, rxBytes: 500 },
        {
          path: { mode: "probing", sinceMs: NOW, rxBytes: 500, failedProbes: 0 },
          endpoint: "direct",
          poke: true,
        },
      ],
      [
        "a probed symmetric pair that sent bytes directly is direct",
        { mode: "probing", sinceMs: NOW - 1_000, rxBytes: 500, failedProbes: 0 },
        { ...nat("symmetric", "symmetric"), rxBytes: 592 },
        { path: { mode: "direct" }, poke: false },
      ],
    ])("%s", (_name, path, over, expected) => {
      expect(nextPath(path, seen(over), T)).toEqual(expected);
    });

    it("walks a symmetric pair direct → relayed → probing → relayed (backed off), never trying", () => {
      let path: PeerPath = { mode: "direct" };
      let now = NOW;
      const modes: string[] = [];
      const step = (over: Partial<PeerObservation>) => {
        const s = nextPath(path, seen({ nowMs: now, ...nat("symmetric", "symmetric"), ...over }), T);
        path = s.path;
        modes.push(s.endpoint ? `${path.mode}:${s.endpoint}` : path.mode);
      };
      step({});
      now += 60_000;
      step({ isViaRelay: true, handshakeAtMs: now - 5_000, rxBytes: 100 });
      now += 3_000;
      step({ handshakeAtMs: now - 8_000, rxBytes: 100 });
      expect(modes).toEqual(["relayed:relay", "probing:direct", "relayed:relay"]);
      expect(path).toEqual(relayedSince(now, 1));
    });
  });

  it("walks direct → trying → relayed → probing → direct when the direct path opens", () => {
    let path: PeerPath = { mode: "direct" };
    let now = NOW;
    const modes: string[] = [];
    const step = (over: Partial<PeerObservation>) => {
      const s = nextPath(path, seen({ nowMs: now, ...over }), T);
      path = s.path;
      modes.push(s.endpoint ? `${path.mode}:${s.endpoint}` : path.mode);
    };
    step({});
    now += 10_000;
    step({});
    now += 60_000;
    step({ isViaRelay: true, handshakeAtMs: now - 5_000, rxBytes: 100 });
    now += 1_000;
    step({ isViaRelay: false, handshakeAtMs: now - 6_000, rxBytes: 248 });
    now += 1_000;
    step({ handshakeAtMs: now - 7_000 });
    expect(modes).toEqual(["trying", "relayed:relay", "probing:direct", "direct", "direct"]);
  });
});
