/**
 * The metrics a hub operator watches: nodes by network and status, the connections online nodes
 * report, and the latency histogram of heartbeats, read from `/metrics` with exact numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import { createNetwork, createNode, heartbeat } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

/** The value of the sample `name` whose labels include `labels`; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe("node metrics", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });
  const scrape = async () => (await t.request("/metrics", { key: null })).text();

  it("counts nodes by network and status, sums online nodes' connections, and histograms reported latency", async () => {
    const alpha = await createNetwork(t, { name: "alpha" });
    const beta = await createNetwork(t, { name: "beta" });
    const b1 = await createNode(t, beta.id);
    await createNode(t, beta.id);
    // b1 reports 7 connections, then goes silent: offline, its connections no longer count.
    await heartbeat(t, b1.node.id, b1.token, { metrics: { activeConnections: 7, latency: 5 } });
    const markedOffline = await t.platform.services.liveness.markStaleNodesOffline(
      new Date(Date.now() + 60_000),
    );
    expect(markedOffline.map((n) => n.id)).toEqual([b1.node.id]);

    const a1 = await createNode(t, alpha.id);
    const a2 = await createNode(t, alpha.id);
    const a3 = await createNode(t, alpha.id);
    await heartbeat(t, a1.node.id, a1.token, { metrics: { connections: 4, latencyMs: 20 } });
    await heartbeat(t, a2.node.id, a2.token, { metrics: { activeConnections: 5, latency: 300 } });
    await heartbeat(t, a2.node.id, a2.token, { metrics: { activeConnections: 5 } });
    const disabled = await t.request(`/api/v1/nodes/${a3.node.id}`, {
      method: "PATCH",
      body: { status: "disabled" },
    });
    expect(disabled.status).toBe(200);

    const text = await scrape();
    const nodes = (network: string, status: string) => sample(text, "wiresync_nodes", { network, status });
    expect(nodes("alpha", "online")).toBe(2);
    expect(nodes("alpha", "disabled")).toBe(1);
    expect(nodes("alpha", "pending")).toBeUndefined();
    expect(nodes("beta", "offline")).toBe(1);
    expect(nodes("beta", "pending")).toBe(1);
    expect(nodes("beta", "online")).toBeUndefined();
    expect(sample(text, "wiresync_active_connections", { network: "alpha" })).toBe(9);
    expect(sample(text, "wiresync_active_connections", { network: "beta" })).toBe(0);

    // Three heartbeats named a latency (5 ms, 20 ms, 300 ms); the fourth named none.
    expect(sample(text, "wiresync_node_latency_seconds_count")).toBe(3);
    expect(sample(text, "wiresync_node_latency_seconds_sum")).toBeCloseTo(0.325, 9);
    const bucket = (le: string) => sample(text, "wiresync_node_latency_seconds_bucket", { le });
    expect(bucket("0.001")).toBe(0);
    expect(bucket("0.005")).toBe(1);
    expect(bucket("0.025")).toBe(2);
    expect(bucket("0.25")).toBe(2);
    expect(bucket("0.5")).toBe(3);
    expect(bucket("+Inf")).toBe(3);
  });

  it("counts as lagging the nodes whose agent reported applying an older config than the current one", async () => {
    const delta = await createNetwork(t, { name: "delta" });
    const d1 = await createNode(t, delta.id);
    const d2 = await createNode(t, delta.id);
    await createNode(t, delta.id); // its agent never reports a version: never lagging
    await heartbeat(t, d1.node.id, d1.token, { configVersion: 1 });
    await heartbeat(t, d2.node.id, d2.token, { configVersion: 1 });
    const lagging = async () => sample(await scrape(), "wiresync_node_config_lagging", { network: "delta" });
    expect(await lagging()).toBeUndefined();
    // Two changes to every node's config (the first stores its hash, the second moves the version on).
    for (const mtu of [1380, 1360]) {
      const patched = await t.request(`/api/v1/networks/${delta.id}`, { method: "PATCH", body: { mtu } });
      expect(patched.status).toBe(200);
    }
    const desired = (await json(await t.request(`/api/v1/nodes/${d1.node.id}`))).data.configVersion;
    expect(desired).toBeGreaterThan(1);
    expect(await lagging()).toBe(2);
    await heartbeat(t, d1.node.id, d1.token, { configVersion: desired });
    expect(await lagging()).toBe(1);
    await heartbeat(t, d2.node.id, d2.token, { configVersion: desired });
    expect(await lagging()).toBeUndefined();
  });

  it("drops a network's series once its nodes are gone", async () => {
    const gamma = await createNetwork(t, { name: "gamma" });
    const g = await createNode(t, gamma.id);
    await heartbeat(t, g.node.id, g.token, { metrics: { connections: 2 } });
    let text = await scrape();
    expect(sample(text, "wiresync_nodes", { network: "gamma", status: "online" })).toBe(1);
    expect(sample(text, "wiresync_active_connections", { network: "gamma" })).toBe(2);
    expect((await t.request(`/api/v1/nodes/${g.node.id}`, { method: "DELETE" })).status).toBe(200);
    text = await scrape();
    expect(sample(text, "wiresync_nodes", { network: "gamma" })).toBeUndefined();
    expect(sample(text, "wiresync_active_connections", { network: "gamma" })).toBeUndefined();
  });
});
