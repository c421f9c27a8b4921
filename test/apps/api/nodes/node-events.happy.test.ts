import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { json } from "../../../support/http.js";
import {
  createEnrollmentKey,
  createNetwork,
  createNode,
  eventsOfNode,
  heartbeat,
  outboxEvents,
  registerNode,
} from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const MINUTE_MS = 60_000;

describe("node events in the outbox", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  /** Makes a node look silent for `ms`, as if its heartbeats had stopped. */
  const silence = (nodeId: string, ms: number) =>
    t.platform.database.db
      .update(nodes)
      .set({ lastSeenAt: new Date(Date.now() - ms) })
      .where(eq(nodes.id, nodeId));

  it("records node.enrolled with the node and its network when an admin enrolls a node", async () => {
    const net = await createNetwork(t, { name: "office", cidr4: "10.61.0.0/24" });
    const created = await createNode(t, net.id, { name: "laptop", email: "ada@example.com" });
    const events = await eventsOfNode(t, created.node.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "node.enrolled", source: "api-key:bootstrap", relayedAt: null });
    expect(events[0]!.data).toEqual({
      via: "api",
      node: {
        id: created.node.id,
        name: "laptop",
        email: "ada@example.com",
        networkId: net.id,
        ip4: "10.61.0.2",
        hasServerKey: true,
      },
      network: { id: net.id, name: "office" },
    });

    const own = await createNode(t, net.id, { name: "own-key", publicKey: generateKeyPair().publicKey });
    const [ownEvent] = await eventsOfNode(t, own.node.id);
    expect(ownEvent!.data.node).toEqual({
      id: own.node.id,
      name: "own-key",
      networkId: net.id,
      ip4: "10.61.0.3",
      hasServerKey: false,
    });
  });

  it("records node.enrolled for a registration and node.updated for a re-registration", async () => {
    const net = await createNetwork(t);
    const key = await createEnrollmentKey(t, net.id, { reusable: true });
    const { publicKey } = generateKeyPair();
    const body = {
      name: "edge-1",
      publicKey,
      networkInfo: { ipv4: "198.51.100.7", natType: "symmetric", localPort: 51820 },
      location: { country: "NL", region: "Amsterdam" },
    };
    const first = await registerNode(t, key, body);
    const second = await registerNode(
      t,
      key,
      { ...body, nodeId: first.node.id, location: { country: "DE", region: "Berlin" } },
      first.token,
    );
    await registerNode(
      t,
      key,
      { ...body, nodeId: first.node.id, location: { country: "DE", region: "Berlin" } },
      second.token,
    );

    const events = await eventsOfNode(t, first.node.id);
    expect(events.map((e) => e.type)).toEqual(["node.enrolled", "node.updated", "node.updated"]);
    expect(events[0]!.source).toBe(`enrollment-key:${key.slice(0, 16)}`);
    expect(events[0]!.data).toMatchObject({
      via: "enrollment-key",
      node: { name: "edge-1", hasServerKey: false },
    });
    // Re-registration is always news (the node's token was rotated), even when its info is the same.
    expect(events[1]!.data).toMatchObject({ reregistered: true, changed: ["location"] });
    expect(events[2]!.data).toMatchObject({ reregistered: true, changed: [] });
  });

  it("records node.updated naming the changed fields, and nothing for a patch that changes nothing", async () => {
    const net = await createNetwork(t);
    const created = await createNode(t, net.id, { name: "box" });
    const patch = (body: Record<string, unknown>) =>
      t.request(`/api/v1/nodes/${created.node.id}`, { method: "PATCH", body });

    expect((await patch({ name: "box-2", tags: ["lab"], endpoint: null })).status).toBe(200);
    expect((await patch({ name: "box-2" })).status).toBe(200);
    const { publicKey } = generateKeyPair();
    expect((await patch({ publicKey })).status).toBe(200);

    const updates = (await eventsOfNode(t, created.node.id)).filter((e) => e.type === "node.updated");
    expect(updates.map((e) => e.data.changed)).toEqual([["name", "tags"], ["publicKey"]]);
    expect(updates[0]!.data.node).toMatchObject({ name: "box-2", hasServerKey: true });
    expect(updates[0]!.data).not.toHaveProperty("rekeyed");
    // A new public key drops the server-held private key: the event says so, and never names a key.
    expect(updates[1]!.data).toMatchObject({ rekeyed: true, node: { hasServerKey: false } });
    expect(JSON.stringify(updates)).not.toContain(publicKey);
  });

  it("records node.online when a heartbeat brings a node online, and node.offline from the liveness check", async () => {
    const net = await createNetwork(t);
    const created = await createNode(t, net.id, { name: "edge" });
    const id: string = created.node.id;

    expect((await heartbeat(t, id, created.token)).status).toBe("online");
    await heartbeat(t, id, created.token);
    await silence(id, 10 * MINUTE_MS);
    const marked = await t.platform.services.liveness.markStaleNodesOffline(
      new Date(Date.now() - 3 * MINUTE_MS),
    );
    expect(marked.map((n) => n.id)).toContain(id);
    await heartbeat(t, id, created.token);

    const events = await eventsOfNode(t, id);
    expect(events.map((e) => e.type)).toEqual([
      "node.enrolled",
      "node.online",
      "node.offline",
      "node.online",
    ]);
    expect(events[1]!.data).toMatchObject({ previousStatus: "pending", node: { name: "edge" } });
    expect(events[1]!.source).toBe(`node:${id}`);
    expect(events[2]!.data).toMatchObject({ network: { id: net.id, name: net.name } });
    expect(Date.parse(String(events[2]!.data.lastSeenAt))).toBeLessThan(Date.now() - 9 * MINUTE_MS);
    expect(events[3]!.data).toMatchObject({ previousStatus: "offline" });
  });

  it("stores each heartbeat's metrics and time, keeps a disabled node disabled, and takes a reported endpoint", async () => {
    const net = await createNetwork(t, { name: "beats", cidr4: "10.64.0.0/24" });
    const created = await createNode(t, net.id, { name: "beating" });
    const id = created.node.id as string;
    const rowOf = async () => (await t.platform.database.db.select().from(nodes).where(eq(nodes.id, id)))[0]!;

    const before = Date.now();
    const first = await heartbeat(t, id, created.token, { metrics: { cpu: 12, connections: 3 } });
    expect(first).toMatchObject({ status: "online", configVersion: 1 });
    const row = await rowOf();
    expect(row.metrics).toEqual({ cpu: 12, connections: 3 });
    expect(row.lastSeenAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row.updatedAt.getTime()).toBe(row.lastSeenAt!.getTime());

    const disable = await t.request(`/api/v1/nodes/${id}`, { method: "PATCH", body: { status: "disabled" } });
    expect(disable.status).toBe(200);
    const onlineEvents = async () => (await eventsOfNode(t, id)).filter((e) => e.type === "node.online");
    const onlineBefore = (await onlineEvents()).length;
    const disabled = await heartbeat(t, id, created.token, { metrics: { cpu: 50 } });
    expect(disabled).toMatchObject({ status: "disabled" });
    expect(await rowOf()).toMatchObject({ status: "disabled", metrics: { cpu: 50 } });
    expect(await onlineEvents()).toHaveLength(onlineBefore);

    const enable = await t.request(`/api/v1/nodes/${id}`, { method: "PATCH", body: { status: "pending" } });
    expect(enable.status).toBe(200);
    const versionBefore = (await rowOf()).configVersion;
    const moved = await heartbeat(t, id, created.token, { endpoint: "198.51.100.20:51820" });
    expect(moved).toMatchObject({ status: "online" });
    const after = await rowOf();
    // A reported endpoint is a candidate of the node's; the operator's `endpoint` stays as it was.
    expect(after).toMatchObject({ status: "online", endpoint: null, metrics: {} });
    expect(after.endpointCandidates).toEqual({
      listenPort: null,
      addresses: [],
      reported: "198.51.100.20:51820",
      reflexive: null,
    });
    expect(after.configVersion).toBeGreaterThanOrEqual(versionBefore);
    expect(await onlineEvents()).toHaveLength(onlineBefore + 1);
  });

  it("records node.online once when heartbeats race to bring a node back", async () => {
    const net = await createNetwork(t);
    const created = await createNode(t, net.id);
    await heartbeat(t, created.node.id, created.token);
    await silence(created.node.id, 10 * MINUTE_MS);
    await t.platform.services.liveness.markStaleNodesOffline(new Date(Date.now() - 3 * MINUTE_MS));

    await Promise.all(Array.from({ length: 6 }, () => heartbeat(t, created.node.id, created.token)));
    const types = (await eventsOfNode(t, created.node.id)).map((e) => e.type);
    expect(types).toEqual(["node.enrolled", "node.online", "node.offline", "node.online"]);
  });

  it("records node.removed for every node deleted, by id and by email", async () => {
    const [a, b] = [await createNetwork(t), await createNetwork(t)];
    const single = await createNode(t, a.id, { name: "gone" });
    const owned = [
      await createNode(t, a.id, { email: "leaver@example.com" }),
      await createNode(t, b.id, { email: "Leaver@example.com" }),
    ];

    const byId = await t.request(`/api/v1/nodes/${single.node.id}?keep_usage_history=false`, {
      method: "DELETE",
    });
    expect(byId.status).toBe(200);
    const byEmail = await json(
      await t.request("/api/v1/nodes?email=leaver@example.com&keep_usage_history=true", { method: "DELETE" }),
    );
    expect(byEmail.data.deleted).toBe(2);

    const [removedOne] = (await eventsOfNode(t, single.node.id)).filter((e) => e.type === "node.removed");
    expect(removedOne!.data).toMatchObject({
      keepUsageHistory: false,
      by: "id",
      node: { id: single.node.id, name: "gone" },
      network: { id: a.id, name: a.name },
    });
    for (const [i, n] of owned.entries()) {
      const removed = (await eventsOfNode(t, n.node.id)).filter((e) => e.type === "node.removed");
      expect(removed).toHaveLength(1);
      expect(removed[0]!.data).toMatchObject({
        keepUsageHistory: true,
        by: "email",
        node: { email: "leaver@example.com" },
        network: { id: [a, b][i].id },
      });
    }
  });

  it("records node.removed for each node of a network deleted with force", async () => {
    const net = await createNetwork(t);
    const members = [await createNode(t, net.id), await createNode(t, net.id)];
    expect((await t.request(`/api/v1/networks/${net.id}?force=true`, { method: "DELETE" })).status).toBe(200);
    for (const m of members) {
      const removed = (await eventsOfNode(t, m.node.id)).filter((e) => e.type === "node.removed");
      expect(removed.map((e) => e.data)).toEqual([
        expect.objectContaining({
          by: "network",
          keepUsageHistory: true,
          network: { id: net.id, name: net.name },
        }),
      ]);
    }
  });

  it("records nothing about a network change or a read", async () => {
    const net = await createNetwork(t);
    const created = await createNode(t, net.id);
    const before = (await outboxEvents(t)).length;
    await t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { mtu: 1380 } });
    await t.request(`/api/v1/nodes/${created.node.id}/config`);
    await t.request(`/api/v1/nodes/${created.node.id}`);
    expect(await outboxEvents(t)).toHaveLength(before);
  });
});
