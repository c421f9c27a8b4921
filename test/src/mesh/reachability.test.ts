import { describe, expect, it } from "vitest";
import type { ReachNode } from "../../../src/mesh/reachability.js";
import {
  handshakeStatus,
  RECENT_HANDSHAKE_SECONDS,
  reachabilityReport,
} from "../../../src/mesh/reachability.js";

const NOW = new Date("2026-12-06T12:00:00.000Z");
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);

describe("handshakeStatus", () => {
  it("calls 180 s recent", () => {
    expect(RECENT_HANDSHAKE_SECONDS).toBe(180);
  });

  it.each<[string, Date | null, string]>([
    ["a handshake 179 s old is recent", secondsAgo(179), "recent"],
    ["a handshake exactly 180 s old is recent", secondsAgo(180), "recent"],
    ["a handshake 180.001 s old is stale", secondsAgo(180.001), "stale"],
    ["a handshake 181 s old is stale", secondsAgo(181), "stale"],
    ["a handshake a day old is stale", secondsAgo(86_400), "stale"],
    ["a handshake stamped 5 s in the future (a clock ahead) is recent", secondsAgo(-5), "recent"],
    ["no handshake is never", null, "never"],
  ])("%s", (_name, at, expected) => {
    expect(handshakeStatus(at, NOW)).toBe(expected);
  });
});

describe("reachabilityReport", () => {
  const node = (id: string, hub: Date | null, status = "online"): ReachNode => ({
    id,
    name: `n-${id}`,
    status,
    lastSeenAt: null,
    hubHandshakeAt: hub,
  });

  it("lists each node with the hub and, in a mesh, each two active nodes with the newer of both reports", () => {
    const report = reachabilityReport({
      topology: "mesh",
      nodes: [
        node("a", secondsAgo(10)),
        node("b", secondsAgo(200)),
        node("c", null),
        node("d", null, "disabled"),
      ],
      reports: [
        { nodeId: "a", peerId: "b", lastHandshakeAt: secondsAgo(400) },
        { nodeId: "b", peerId: "a", lastHandshakeAt: secondsAgo(30) },
        { nodeId: "c", peerId: "a", lastHandshakeAt: secondsAgo(181) },
        { nodeId: "d", peerId: "a", lastHandshakeAt: secondsAgo(1) },
        { nodeId: "x", peerId: "a", lastHandshakeAt: secondsAgo(1) },
      ],
      now: NOW,
    });
    expect(report.recentSeconds).toBe(180);
    expect(report.pairs).toEqual([
      { a: "hub", b: "a", lastHandshakeAt: secondsAgo(10), status: "recent" },
      { a: "hub", b: "b", lastHandshakeAt: secondsAgo(200), status: "stale" },
      { a: "hub", b: "c", lastHandshakeAt: null, status: "never" },
      { a: "a", b: "b", lastHandshakeAt: secondsAgo(30), status: "recent" },
      { a: "a", b: "c", lastHandshakeAt: secondsAgo(181), status: "stale" },
      { a: "b", b: "c", lastHandshakeAt: null, status: "never" },
    ]);
    expect(report.nodes.map((n) => [n.id, n.reach, n.recentPairs, n.pairs])).toEqual([
      ["a", "recent", 2, 3],
      ["b", "recent", 1, 3],
      ["c", "stale", 0, 3],
    ]);
  });

  it("lists only the hub pairs in a hub network", () => {
    const report = reachabilityReport({
      topology: "hub",
      nodes: [node("a", secondsAgo(179)), node("b", secondsAgo(181))],
      reports: [{ nodeId: "a", peerId: "b", lastHandshakeAt: secondsAgo(1) }],
      now: NOW,
    });
    expect(report.pairs.map((p) => [p.a, p.b, p.status])).toEqual([
      ["hub", "a", "recent"],
      ["hub", "b", "stale"],
    ]);
  });
});
