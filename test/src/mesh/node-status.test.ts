import { describe, expect, it } from "vitest";
import type { StatusEvidence } from "../../../src/mesh/node-status.js";
import {
  decideStatus,
  isConfigLagging,
  shouldAlertOffline,
  shouldAnnounceOnline,
} from "../../../src/mesh/node-status.js";

const NOW = new Date("2026-12-06T12:00:00.000Z");
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);
// Heartbeats count for 90 s, handshakes for 180 s, latency up to 1000 ms.
const T = { heartbeatFreshSeconds: 90, handshakeFreshSeconds: 180, maxLatencyMs: 1_000 };
const seen = (over: Partial<StatusEvidence>): StatusEvidence => ({
  lastHeartbeatAt: null,
  hubHandshakeAt: null,
  latencyMs: null,
  isDisabled: false,
  wasSeen: true,
  ...over,
});

describe("decideStatus", () => {
  it.each<[string, Partial<StatusEvidence>, string]>([
    [
      "a fresh heartbeat and a fresh hub handshake is online",
      { lastHeartbeatAt: secondsAgo(10), hubHandshakeAt: secondsAgo(60) },
      "online",
    ],
    [
      "a heartbeat exactly 90 s old still counts",
      { lastHeartbeatAt: secondsAgo(90), hubHandshakeAt: secondsAgo(60) },
      "online",
    ],
    [
      "a heartbeat 90.001 s old with no handshake is offline",
      { lastHeartbeatAt: secondsAgo(90.001) },
      "offline",
    ],
    [
      "a fresh heartbeat with no hub handshake known (no hub reader, a mesh) is online",
      { lastHeartbeatAt: secondsAgo(5) },
      "online",
    ],
    [
      "a fresh heartbeat with a handshake exactly 180 s old is online",
      { lastHeartbeatAt: secondsAgo(5), hubHandshakeAt: secondsAgo(180) },
      "online",
    ],
    [
      "a fresh heartbeat with a handshake 181 s old is degraded",
      { lastHeartbeatAt: secondsAgo(5), hubHandshakeAt: secondsAgo(181) },
      "degraded",
    ],
    ["latency of exactly 1000 ms is online", { lastHeartbeatAt: secondsAgo(5), latencyMs: 1_000 }, "online"],
    [
      "latency of 1001 ms is degraded (milliseconds, not seconds)",
      { lastHeartbeatAt: secondsAgo(5), latencyMs: 1_001 },
      "degraded",
    ],
    ["latency of 2 (ms) is online", { lastHeartbeatAt: secondsAgo(5), latencyMs: 2 }, "online"],
    [
      "a fresh hub handshake without heartbeats (no agent) is online",
      { hubHandshakeAt: secondsAgo(100) },
      "online",
    ],
    ["a stale hub handshake without heartbeats is offline", { hubHandshakeAt: secondsAgo(181) }, "offline"],
    [
      "a stale heartbeat with a fresh handshake is online",
      { lastHeartbeatAt: secondsAgo(300), hubHandshakeAt: secondsAgo(30) },
      "online",
    ],
    [
      "high latency on a stale heartbeat does not count",
      { lastHeartbeatAt: secondsAgo(300), latencyMs: 5_000 },
      "offline",
    ],
    ["a node never seen is pending", { wasSeen: false }, "pending"],
    ["disabled overrides fresh evidence", { isDisabled: true, lastHeartbeatAt: secondsAgo(1) }, "disabled"],
  ])("%s", (_name, evidence, status) => {
    expect(decideStatus(seen(evidence), T, NOW).status).toBe(status);
  });

  it("says why a node is degraded, with the limit and its unit", () => {
    expect(decideStatus(seen({ lastHeartbeatAt: NOW, hubHandshakeAt: secondsAgo(600) }), T, NOW).reason).toBe(
      "heartbeats arrive but the last handshake with the hub is over 180 s old",
    );
    expect(decideStatus(seen({ lastHeartbeatAt: NOW, latencyMs: 1_500 }), T, NOW).reason).toBe(
      "latency 1500 ms is over 1000 ms",
    );
  });
});

describe("flap damping", () => {
  it.each<[string, Date | null, boolean]>([
    ["the first offline ever alerts", null, true],
    ["an offline 599 s after the last alert (window 600 s) does not", secondsAgo(599), false],
    ["an offline exactly 600 s after the last alert does", secondsAgo(600), true],
    ["an offline an hour after the last alert does", secondsAgo(3_600), true],
  ])("%s", (_name, lastAlertAt, alerts) => {
    expect(shouldAlertOffline(lastAlertAt, NOW, 600)).toBe(alerts);
  });

  it("raises one alert for a node bouncing ten times in the window, and one again after it", () => {
    let alertedAt: Date | null = null;
    let alerts = 0;
    for (let i = 0; i < 10; i++) {
      const at = new Date(NOW.getTime() + i * 30_000);
      if (shouldAlertOffline(alertedAt, at, 600)) {
        alerts++;
        alertedAt = at;
      }
    }
    expect(alerts).toBe(1);
    expect(shouldAlertOffline(alertedAt, new Date(NOW.getTime() + 600_000), 600)).toBe(true);
  });

  it.each<[string, Date | null, Date | null, boolean]>([
    ["a node never offline announces coming up", null, null, true],
    ["coming back from the alerted offline is announced", secondsAgo(60), secondsAgo(60), true],
    ["coming back from a damped offline is not", secondsAgo(10), secondsAgo(60), false],
  ])("%s", (_name, lastOfflineAt, alertedAt, announces) => {
    expect(shouldAnnounceOnline(lastOfflineAt, alertedAt)).toBe(announces);
  });
});

describe("isConfigLagging", () => {
  it.each<[string, number, number | null, boolean]>([
    ["an agent on an older version lags", 4, 3, true],
    ["an agent on the current version does not", 4, 4, false],
    ["a node without an agent report does not", 4, null, false],
  ])("%s", (_name, desired, applied, lagging) => {
    expect(isConfigLagging(desired, applied)).toBe(lagging);
  });
});
