/**
 * The steady heartbeat: what a real agent sends every few seconds (metrics, config and agent version,
 * the same endpoint candidates, its handshake with the hub) is stored in one statement, counted as
 * `wiresync_heartbeats_total{path="steady"}`; anything that changed, here or behind this process's
 * back, takes the full way (`path="full"`) and is stored as before.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeReachability, nodes } from "../../../../src/db/index.js";
import { bearer } from "../../../support/auth.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode, outboxEvents } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("steady heartbeats", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  /** A heartbeat as if sent over a socket from `remoteAddress`. */
  async function beatFrom(node: Json, remoteAddress: string, body: Record<string, unknown>) {
    const res = await t.app.request(
      `/api/v1/nodes/${node.node.id}/heartbeat`,
      {
        method: "POST",
        headers: { ...bearer(node.token), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      },
      { incoming: { socket: { remoteAddress } } },
    );
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(200);
    return payload.data;
  }
  /** The heartbeat counter by path, as `/metrics` shows it. */
  async function counted(): Promise<{ steady: number; full: number }> {
    const text = await (await t.app.request("/metrics")).text();
    const of = (path: string) =>
      Number(
        new RegExp(`^wiresync_heartbeats_total\\{[^}]*path="${path}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1] ??
          0,
      );
    return { steady: of("steady"), full: of("full") };
  }
  /** Runs `fn`; returns how many heartbeats each path took meanwhile. */
  async function pathsOf(fn: () => Promise<unknown>) {
    const before = await counted();
    await fn();
    const after = await counted();
    return { steady: after.steady - before.steady, full: after.full - before.full };
  }
  const rowOf = async (id: string) =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.id, id)))[0]!;

  /** What `src/agent/agent.ts` sends: metrics, versions, candidates from the interface, handshakes. */
  const agentBeat = (hubKey: string, cpu: number, addresses = ["192.168.7.2/24", "10.90.0.2/24"]) => ({
    metrics: { cpu, memory: 41.5 },
    configVersion: 1,
    agentVersion: "0.1.0",
    candidates: { listenPort: 51820, addresses },
    handshakes: [{ publicKey: hubKey, ageSeconds: 3 }],
  });

  it("stores a real agent's unchanged heartbeats in the steady path, each one's metrics and time", async () => {
    const net = await createNetwork(t, { cidr4: "10.90.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const hubKey = net.hubPublicKey as string;
    expect(await pathsOf(() => beatFrom(a, "198.51.100.20", agentBeat(hubKey, 1)))).toEqual({
      steady: 0,
      full: 1,
    });
    const settled = await rowOf(a.node.id);
    const events = (await outboxEvents(t)).length;
    const paths = await pathsOf(async () => {
      for (let i = 2; i <= 6; i++) await beatFrom(a, "198.51.100.20", agentBeat(hubKey, i));
    });
    expect(paths).toEqual({ steady: 5, full: 0 });
    const row = await rowOf(a.node.id);
    expect(row.metrics).toEqual({ cpu: 6, memory: 41.5 });
    expect(row.lastSeenAt!.getTime()).toBeGreaterThan(settled.lastSeenAt!.getTime());
    expect(row.status).toBe("online");
    expect(row.endpointCandidates).toEqual(settled.endpointCandidates);
    expect(row.configVersion).toBe(settled.configVersion);
    expect(row.appliedConfigVersion).toBe(1);
    expect(row.agentVersion).toBe("0.1.0");
    expect((await outboxEvents(t)).length).toBe(events);
  });

  it("takes the full way for new candidates, a new address seen, and rows changed behind its back", async () => {
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.91.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const b = await createNode(t, net.id, { name: "b" });
    const hubKey = net.hubPublicKey as string;
    const versionOfB = async () => (await rowOf(b.node.id)).configVersion;
    await beatFrom(a, "198.51.100.30", agentBeat(hubKey, 1, ["192.168.8.2/24"]));
    const v0 = await versionOfB();

    // Another LAN address: stored (b, without an agent, still reaches a at its reflexive address).
    expect(
      await pathsOf(() => beatFrom(a, "198.51.100.30", agentBeat(hubKey, 2, ["192.168.9.2/24"]))),
    ).toEqual({ steady: 0, full: 1 });
    expect((await rowOf(a.node.id)).endpointCandidates?.addresses).toEqual(["192.168.9.2/24"]);
    expect(await versionOfB()).toBe(v0);
    // The heartbeats now come from another public address: a new reflexive candidate, and b's
    // config (which names a by it) moves on.
    expect(
      await pathsOf(() => beatFrom(a, "198.51.100.31", agentBeat(hubKey, 3, ["192.168.9.2/24"]))),
    ).toEqual({ steady: 0, full: 1 });
    expect((await rowOf(a.node.id)).endpointCandidates?.reflexive).toBe("198.51.100.31");
    expect(await versionOfB()).toBe(v0 + 1);
    expect(
      await pathsOf(() => beatFrom(a, "198.51.100.31", agentBeat(hubKey, 4, ["192.168.9.2/24"]))),
    ).toEqual({ steady: 1, full: 0 });

    // Another API process stored other candidates meanwhile: this one's memory is stale, so the
    // same report as before is a change again, and is stored.
    const db = t.platform.database.db;
    await db
      .update(nodes)
      .set({ endpointCandidates: { listenPort: 1, addresses: [], reported: null, reflexive: null } })
      .where(eq(nodes.id, a.node.id));
    expect(
      await pathsOf(() => beatFrom(a, "198.51.100.31", agentBeat(hubKey, 5, ["192.168.9.2/24"]))),
    ).toEqual({ steady: 0, full: 1 });
    expect((await rowOf(a.node.id)).endpointCandidates).toEqual({
      listenPort: 51820,
      addresses: ["192.168.9.2/24"],
      reported: null,
      reflexive: "198.51.100.31",
    });

    // The hub saw a handshake (another status input) and the node was disabled: each takes the full way.
    await db.update(nodes).set({ lastHandshakeAt: sql`now()` }).where(eq(nodes.id, a.node.id));
    expect(
      await pathsOf(() => beatFrom(a, "198.51.100.31", agentBeat(hubKey, 6, ["192.168.9.2/24"]))),
    ).toEqual({ steady: 0, full: 1 });
    await db.update(nodes).set({ status: "disabled" }).where(eq(nodes.id, a.node.id));
    expect(
      await pathsOf(() => beatFrom(a, "198.51.100.31", agentBeat(hubKey, 7, ["192.168.9.2/24"]))),
    ).toEqual({ steady: 0, full: 1 });
    expect((await rowOf(a.node.id)).status).toBe("disabled");
  });

  it("still stores the handshakes a steady heartbeat reports with mesh peers, and none with the hub", async () => {
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.93.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const b = await createNode(t, net.id, { name: "b" });
    const hubKey = net.hubPublicKey as string;
    await beatFrom(a, "198.51.100.50", agentBeat(hubKey, 1, ["192.168.11.2/24"]));
    const withPeer = {
      ...agentBeat(hubKey, 2, ["192.168.11.2/24"]),
      handshakes: [
        { publicKey: hubKey, ageSeconds: 1 },
        { publicKey: b.node.publicKey, ageSeconds: 2 },
      ],
    };
    expect(await pathsOf(() => beatFrom(a, "198.51.100.50", withPeer))).toEqual({ steady: 1, full: 0 });
    const pairs = await t.platform.database.db
      .select()
      .from(nodeReachability)
      .where(eq(nodeReachability.nodeId, a.node.id));
    expect(pairs.map((p) => p.peerId)).toEqual([b.node.id]);
  });

  it("takes the full way when the node's own address changed (its candidates leave it out)", async () => {
    const net = await createNetwork(t, { cidr4: "10.92.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const hubKey = net.hubPublicKey as string;
    const beat = (cpu: number) => agentBeat(hubKey, cpu, ["192.168.10.2/24", "10.92.0.77/24"]);
    await beatFrom(a, "198.51.100.40", beat(1));
    expect((await rowOf(a.node.id)).endpointCandidates?.addresses).toEqual([
      "10.92.0.77/24",
      "192.168.10.2/24",
    ]);
    await t.platform.database.db.update(nodes).set({ ip4: "10.92.0.77" }).where(eq(nodes.id, a.node.id));
    expect(await pathsOf(() => beatFrom(a, "198.51.100.40", beat(2)))).toEqual({ steady: 0, full: 1 });
    expect((await rowOf(a.node.id)).endpointCandidates?.addresses).toEqual(["192.168.10.2/24"]);
    expect(await pathsOf(() => beatFrom(a, "198.51.100.40", beat(3)))).toEqual({ steady: 1, full: 0 });
  });
});
