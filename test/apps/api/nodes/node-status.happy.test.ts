/**
 * Node status from evidence through the API and the liveness check: `degraded` when heartbeats come
 * but the hub handshake is stale or latency high, one alert for a node bouncing within the flap
 * window, and the config version each agent runs beside the current one.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { FLAP_WINDOW_SECONDS, MAX_LATENCY_MS } from "../../../../src/mesh/index.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode, eventsOfNode, heartbeat } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("node status from evidence", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t?.close();
  });

  const db = () => t.platform.database.db;
  const hubHandshakeSecondsAgo = (id: string, seconds: number) =>
    db()
      .update(nodes)
      .set({ lastHandshakeAt: new Date(Date.now() - seconds * 1000) })
      .where(eq(nodes.id, id));
  const typesOf = async (id: string) => (await eventsOfNode(t, id)).map((e) => e.type);

  it("is degraded while heartbeats come but the hub handshake is over 180 s old, online again once it is fresh", async () => {
    const net = await createNetwork(t);
    const { node, token } = await createNode(t, net.id);
    await hubHandshakeSecondsAgo(node.id, 200);
    expect((await heartbeat(t, node.id, token)).status).toBe("degraded");
    const [degraded] = (await eventsOfNode(t, node.id)).filter((e) => e.type === "node.degraded");
    expect(degraded!.data).toMatchObject({
      previousStatus: "pending",
      reason: "heartbeats arrive but the last handshake with the hub is over 180 s old",
    });
    await hubHandshakeSecondsAgo(node.id, 170);
    expect((await heartbeat(t, node.id, token)).status).toBe("online");
    // Up from pending (node.online says `status: degraded`), then why, then healthy again.
    expect(await typesOf(node.id)).toEqual(["node.enrolled", "node.online", "node.degraded", "node.online"]);
  });

  it("stores heartbeats that keep the status in place, without events, and sees a status another writer set meanwhile", async () => {
    const net = await createNetwork(t);
    const { node, token } = await createNode(t, net.id);
    const rowOf = async () => (await db().select().from(nodes).where(eq(nodes.id, node.id)))[0]!;
    expect((await heartbeat(t, node.id, token, { metrics: { cpu: 1 } })).status).toBe("online");
    const first = await rowOf();
    const answer = await heartbeat(t, node.id, token, {
      metrics: { cpu: 2 },
      configVersion: 1,
      agentVersion: "1.2.3",
    });
    expect(answer).toMatchObject({ status: "online", configVersion: first.configVersion });
    const second = await rowOf();
    expect(second).toMatchObject({
      status: "online",
      metrics: { cpu: 2 },
      appliedConfigVersion: 1,
      agentVersion: "1.2.3",
    });
    expect(second.lastSeenAt!.getTime()).toBeGreaterThanOrEqual(first.lastSeenAt!.getTime());
    expect(second.updatedAt.getTime()).toBe(second.lastSeenAt!.getTime());
    // A heartbeat naming neither keeps the agent's config version and version.
    await heartbeat(t, node.id, token, { metrics: { cpu: 3 } });
    expect(await rowOf()).toMatchObject({
      metrics: { cpu: 3 },
      appliedConfigVersion: 1,
      agentVersion: "1.2.3",
    });
    expect(await typesOf(node.id)).toEqual(["node.enrolled", "node.online"]);
    // Another process's liveness check took it offline: the next heartbeat brings it back, announced.
    await db().update(nodes).set({ status: "offline" }).where(eq(nodes.id, node.id));
    expect((await heartbeat(t, node.id, token, { metrics: { cpu: 4 } })).status).toBe("online");
    expect(await typesOf(node.id)).toEqual(["node.enrolled", "node.online", "node.online"]);
    // An operator disabled it meanwhile: heartbeats store metrics and keep it disabled.
    await db()
      .update(nodes)
      .set({ status: "disabled", disabledReason: "operator" })
      .where(eq(nodes.id, node.id));
    expect((await heartbeat(t, node.id, token, { metrics: { cpu: 5 } })).status).toBe("disabled");
    expect((await heartbeat(t, node.id, token, { metrics: { cpu: 6 } })).status).toBe("disabled");
    expect(await rowOf()).toMatchObject({ status: "disabled", metrics: { cpu: 6 } });
    expect(await typesOf(node.id)).toEqual(["node.enrolled", "node.online", "node.online"]);
  });

  it("is degraded above 1000 ms of reported latency and online at exactly 1000 ms", async () => {
    expect(MAX_LATENCY_MS).toBe(1_000);
    const net = await createNetwork(t);
    const { node, token } = await createNode(t, net.id);
    expect((await heartbeat(t, node.id, token, { metrics: { latencyMs: 1_000 } })).status).toBe("online");
    expect((await heartbeat(t, node.id, token, { metrics: { latencyMs: 1_001 } })).status).toBe("degraded");
    expect((await heartbeat(t, node.id, token, { metrics: { latencyMs: 40 } })).status).toBe("online");
    expect(await typesOf(node.id)).toEqual(["node.enrolled", "node.online", "node.degraded", "node.online"]);
  });

  it("raises one node.offline for a node bouncing ten times in the flap window, and one more after it", async () => {
    expect(FLAP_WINDOW_SECONDS).toBe(600);
    const net = await createNetwork(t);
    const { node, token } = await createNode(t, net.id);
    const { liveness } = t.platform.services;
    const start = Date.now();
    for (let i = 0; i < 10; i++) {
      await heartbeat(t, node.id, token);
      // Silent since just after that heartbeat; each check 30 s later than the last, all in the window.
      const marked = await liveness.markStaleNodesOffline(
        new Date(Date.now() + 1_000),
        new Date(start + i * 30_000),
      );
      expect(marked.map((n) => n.id)).toContain(node.id);
    }
    const types = await typesOf(node.id);
    expect(types.filter((x) => x === "node.offline")).toHaveLength(1);
    // Up from pending, and back from the one alerted offline; the other 9 returns are flaps.
    expect(types.filter((x) => x === "node.online")).toHaveLength(2);
    expect(types.filter((x) => x === "node.flapping")).toHaveLength(9 + 8);
    await heartbeat(t, node.id, token);
    await liveness.markStaleNodesOffline(new Date(Date.now() + 1_000), new Date(start + 600_000));
    expect((await typesOf(node.id)).filter((x) => x === "node.offline")).toHaveLength(2);
  });

  it("shows the config version each agent runs beside the current one, and names a lagging node", async () => {
    const net = await createNetwork(t);
    const { node, token } = await createNode(t, net.id, { name: "laggard" });
    const { node: current, token: currentToken } = await createNode(t, net.id, { name: "current" });
    const fresh = await json(await t.request(`/api/v1/nodes/${node.id}`));
    expect(fresh.data).toMatchObject({ configVersion: 1, appliedConfigVersion: null, configLagging: false });
    await heartbeat(t, current.id, currentToken, { configVersion: 1 });
    await heartbeat(t, node.id, token, { configVersion: 1 });
    // Changes to every node's config (the first stores its hash, the second moves the version on),
    // which neither agent has applied yet.
    for (const mtu of [1380, 1360]) {
      const patched = await t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { mtu } });
      expect(patched.status).toBe(200);
    }
    const lagging = await json(await t.request(`/api/v1/nodes/${node.id}`));
    const desired = lagging.data.configVersion;
    expect(desired).toBeGreaterThan(1);
    expect(lagging.data).toMatchObject({ appliedConfigVersion: 1, configLagging: true });
    const report = await json(await t.request(`/api/v1/networks/${net.id}/reachability`));
    expect(report.data.lagging).toEqual([
      { id: node.id, name: "laggard", configVersion: desired, appliedConfigVersion: 1 },
      { id: current.id, name: "current", configVersion: desired, appliedConfigVersion: 1 },
    ]);
    // A heartbeat without a version keeps the last one reported.
    await heartbeat(t, node.id, token);
    expect((await json(await t.request(`/api/v1/nodes/${node.id}`))).data.appliedConfigVersion).toBe(1);
    await heartbeat(t, current.id, currentToken, { configVersion: desired });
    const one = await json(await t.request(`/api/v1/networks/${net.id}/reachability`));
    expect(one.data.lagging.map((n: { name: string }) => n.name)).toEqual(["laggard"]);
    await heartbeat(t, node.id, token, { configVersion: desired });
    const caught = await json(await t.request(`/api/v1/networks/${net.id}/reachability`));
    expect(caught.data.lagging).toEqual([]);
  });
});
