/**
 * Reachability as data: usage collection reads handshakes off the hub's interface (an in-memory one
 * here) and agents report theirs; `GET /api/v1/networks/:id/reachability` answers which pairs shook
 * hands recently, and a node without an agent that shakes hands with the hub is shown online.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeWg } from "../../../../src/wireguard/index.js";
import { fakeInterfaceOps } from "../../../support/fake-interfaces.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode, eventsOfNode, heartbeat } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const SECOND_MS = 1_000;

describe("reachability of a network's pairs", () => {
  let t: TestPlatform;
  const { ops, fakes } = fakeInterfaceOps();
  beforeAll(async () => {
    t = await createTestPlatform({
      wireguard: {
        interfaces: [
          { network: "lan", iface: "wslan", netns: undefined },
          { network: "cfg", iface: "wscfg", netns: undefined },
        ],
        driver: "auto",
      },
      interfaceOps: ops,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Brings the network's fake hub interface up with its peers and returns it. */
  async function hubOf(networkId: string, iface: string): Promise<FakeWg> {
    await t.platform.services.peerSync.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
    return fakes.get(iface)!;
  }
  const unixSecondsAgo = (s: number) => Math.floor(Date.now() / SECOND_MS) - s;
  const nodeView = async (id: string): Promise<Json> =>
    (await json(await t.request(`/api/v1/nodes/${id}`))).data;

  it("answers every pair with its latest handshake, from the hub's interface and the agents' reports", async () => {
    const net = await createNetwork(t, { name: "lan", topology: "mesh", cidr4: "10.85.0.0/24" });
    const [a, b, c] = [
      await createNode(t, net.id, { name: "a" }),
      await createNode(t, net.id, { name: "b" }),
      await createNode(t, net.id, { name: "c" }),
    ];
    const hub = await hubOf(net.id, "wslan");
    const [hubA, hubB] = [unixSecondsAgo(10), unixSecondsAgo(400)];
    hub.mutate(a.node.publicKey, { latestHandshake: hubA });
    hub.mutate(b.node.publicKey, { latestHandshake: hubB });
    await t.platform.services.peerSync.collectUsage(net.id);
    const reportedAt = Date.now();
    await heartbeat(t, a.node.id, a.token, { handshakes: [{ publicKey: b.node.publicKey, ageSeconds: 5 }] });
    await heartbeat(t, b.node.id, b.token, {
      handshakes: [{ publicKey: c.node.publicKey, ageSeconds: 200 }],
    });

    const res = await t.request(`/api/v1/networks/${net.id}/reachability`);
    expect(res.status).toBe(200);
    const { data } = await json(res);
    expect(data.networkId).toBe(net.id);
    expect(data.recentSeconds).toBe(180);
    expect(data.pairs.map((p: Json) => [p.a, p.b, p.status])).toEqual([
      ["hub", a.node.id, "recent"],
      ["hub", b.node.id, "stale"],
      ["hub", c.node.id, "never"],
      [a.node.id, b.node.id, "recent"],
      [a.node.id, c.node.id, "never"],
      [b.node.id, c.node.id, "stale"],
    ]);
    // The hub's handshakes as the interface stamped them; the agents' dated by age at their heartbeat.
    const at = data.pairs.map((p: Json) => p.lastHandshakeAt);
    expect([at[0], at[1], at[2], at[4]]).toEqual([
      new Date(hubA * SECOND_MS).toISOString(),
      new Date(hubB * SECOND_MS).toISOString(),
      null,
      null,
    ]);
    // A reported age dates the handshake from the heartbeat's arrival: age plus the time since, which a
    // busy machine stretches (bounded by the time this test has spent since the first report).
    const ageSeconds = (iso: string) => (Date.parse(data.checkedAt) - Date.parse(iso)) / SECOND_MS;
    const sinceReportSeconds = (Date.parse(data.checkedAt) - reportedAt) / SECOND_MS;
    expect(ageSeconds(at[3])).toBeGreaterThanOrEqual(5);
    expect(ageSeconds(at[3])).toBeLessThanOrEqual(5 + sinceReportSeconds + 1);
    expect(ageSeconds(at[5])).toBeGreaterThanOrEqual(200);
    expect(ageSeconds(at[5])).toBeLessThanOrEqual(200 + sinceReportSeconds + 1);
    expect(data.nodes.map((n: Json) => [n.name, n.reach, n.recentPairs, n.pairs])).toEqual([
      ["a", "recent", 2, 3],
      ["b", "recent", 1, 3],
      ["c", "stale", 0, 3],
    ]);
  });

  it("shows a node without an agent online once it shakes hands with the hub, and offline when that stops", async () => {
    const net = await createNetwork(t, { name: "cfg", topology: "mesh", cidr4: "10.86.0.0/24" });
    const phone = await createNode(t, net.id, { name: "phone" });
    const idle = await createNode(t, net.id, { name: "idle" });
    const hub = await hubOf(net.id, "wscfg");
    expect(await nodeView(phone.node.id)).toMatchObject({ status: "pending", lastSeenAt: null });

    const shook = unixSecondsAgo(30);
    hub.mutate(phone.node.publicKey, { latestHandshake: shook, rxBytes: 1_000, txBytes: 2_000 });
    hub.mutate(idle.node.publicKey, { latestHandshake: unixSecondsAgo(181) });
    const collected = await t.platform.services.peerSync.collectUsage(net.id);
    expect(collected.note).toContain("1 nodes seen online");
    const seen = new Date(shook * SECOND_MS).toISOString();
    expect(await nodeView(phone.node.id)).toMatchObject({
      status: "online",
      lastSeenAt: seen,
      lastHandshakeAt: seen,
    });
    // A handshake older than 180 s is no sign of life.
    expect(await nodeView(idle.node.id)).toMatchObject({ status: "pending", lastSeenAt: null });
    const online = (await eventsOfNode(t, phone.node.id)).filter((e) => e.type === "node.online");
    expect(online).toHaveLength(1);
    expect(online[0]!.data).toMatchObject({ previousStatus: "pending", via: "hub-handshake" });

    // Handshakes stop: the liveness check takes it offline, and the same old handshake does not bring it back.
    const offline = await t.platform.services.liveness.markStaleNodesOffline(
      new Date((shook + 1) * SECOND_MS),
    );
    expect(offline.map((n) => n.id)).toEqual([phone.node.id]);
    await t.platform.services.peerSync.collectUsage(net.id);
    expect(await nodeView(phone.node.id)).toMatchObject({ status: "offline", lastSeenAt: seen });
    // A new handshake does.
    hub.mutate(phone.node.publicKey, { latestHandshake: unixSecondsAgo(1) });
    await t.platform.services.peerSync.collectUsage(net.id);
    expect((await nodeView(phone.node.id)).status).toBe("online");
    const again = (await eventsOfNode(t, phone.node.id)).filter((e) => e.type === "node.online");
    expect(again.map((e) => e.data.previousStatus)).toEqual(["pending", "offline"]);
  });
});
