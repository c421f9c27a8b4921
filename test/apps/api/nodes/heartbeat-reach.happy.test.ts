/**
 * Heartbeats that say where a node can be reached: candidates are stored as the server normalises
 * them (with the address the heartbeat came from), the configs that name the node move to a new
 * version with the chosen endpoint, and per-peer handshakes are stored. Agents from before
 * candidates still work.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { nodeReachability, nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { bearer } from "../../../support/auth.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode, heartbeat } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("heartbeats with endpoint candidates and handshakes", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  /** A heartbeat as if sent over a socket from `remoteAddress` (in-process requests have no socket). */
  async function beatFrom(node: Json, remoteAddress: string | undefined, body: Record<string, unknown>) {
    const env = remoteAddress ? { incoming: { socket: { remoteAddress } } } : undefined;
    const res = await t.app.request(
      `/api/v1/nodes/${node.node.id}/heartbeat`,
      {
        method: "POST",
        headers: { ...bearer(node.token), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      },
      env,
    );
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(200);
    return payload.data;
  }
  const rowOf = async (id: string) =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.id, id)))[0]!;
  const configOf = async (id: string) => (await t.request(`/api/v1/nodes/${id}/config`)).text();
  /** The `[Peer]` block of `publicKey` in a config. */
  const peerBlock = (config: string, publicKey: string) =>
    config
      .split("\n\n")
      .find((b) => b.includes(`PublicKey = ${publicKey}`))
      ?.trim();

  it("stores normalised candidates with the reflexive address and moves the configs that name the node", async () => {
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.81.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const b = await createNode(t, net.id, { name: "b" });
    const c = await createNode(t, net.id, { name: "c" });
    const versions = async () =>
      Promise.all([a, b, c].map(async (n) => (await rowOf(n.node.id)).configVersion));
    const before = await versions();

    await beatFrom(a, "::ffff:198.51.100.7", {
      candidates: {
        listenPort: 51001,
        addresses: ["192.168.50.2/24", "10.81.0.2/24", "127.0.0.1/8", "fe80::1/64"],
      },
    });
    expect((await rowOf(a.node.id)).endpointCandidates).toEqual({
      listenPort: 51001,
      addresses: ["192.168.50.2/24"],
      reported: null,
      reflexive: "198.51.100.7",
    });
    // b's and c's configs name a; a's own config changed too (behind NAT: keepalive on its peers).
    expect(await versions()).toEqual(before.map((v) => v + 1));
    // c runs no agent: it gets a's reflexive address with a's port.
    expect(peerBlock(await configOf(c.node.id), a.node.publicKey)).toContain("Endpoint = 198.51.100.7:51001");
    const aConfig = await configOf(a.node.id);
    expect(peerBlock(aConfig, b.node.publicKey)).toContain("PersistentKeepalive = 25");
    expect(aConfig).not.toContain("# No agent reports");

    // b reports from the same NAT, on a's LAN: a and b name each other's LAN addresses.
    await beatFrom(b, "198.51.100.7", { candidates: { listenPort: 51002, addresses: ["192.168.50.3/24"] } });
    expect(peerBlock(await configOf(a.node.id), b.node.publicKey)).toContain("Endpoint = 192.168.50.3:51002");
    expect(peerBlock(await configOf(b.node.id), a.node.publicKey)).toContain("Endpoint = 192.168.50.2:51001");
    // c, without an agent, is told whom it reaches.
    const cConfig = await configOf(c.node.id);
    expect(cConfig).toContain("# Reaches directly (endpoint known): a, b\n");
    expect(cConfig).toContain("# Reaches only after they reached it (no endpoint known): none\n");
    const cView = await json(await t.request(`/api/v1/nodes/${c.node.id}`));
    expect(cView.data.endpointCandidates).toBeNull();
    expect(cView.data.meshPeers).toEqual([
      { id: a.node.id, name: "a", endpoint: "198.51.100.7:51001", source: "reflexive" },
      { id: b.node.id, name: "b", endpoint: "198.51.100.7:51002", source: "reflexive" },
    ]);
    const aView = await json(await t.request(`/api/v1/nodes/${a.node.id}`));
    expect(aView.data.meshPeers).toEqual([
      { id: b.node.id, name: "b", endpoint: "192.168.50.3:51002", source: "lan" },
      { id: c.node.id, name: "c", endpoint: null, source: null },
    ]);

    // The same report again changes nothing; an operator's endpoint then wins over the reports.
    const settled = await versions();
    await beatFrom(a, "198.51.100.7", { candidates: { listenPort: 51001, addresses: ["192.168.50.2/24"] } });
    expect(await versions()).toEqual(settled);
    const patched = await t.request(`/api/v1/nodes/${a.node.id}`, {
      method: "PATCH",
      body: { endpoint: "a.example.com:51820" },
    });
    expect(patched.status).toBe(200);
    expect(peerBlock(await configOf(b.node.id), a.node.publicKey)).toContain(
      "Endpoint = a.example.com:51820",
    );
  });

  it("stores the handshakes a node reports with its peers, dated by their age, and ignores other keys", async () => {
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.82.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const b = await createNode(t, net.id, { name: "b" });
    const started = Date.now();
    await heartbeat(t, a.node.id, a.token, {
      handshakes: [
        { publicKey: b.node.publicKey, ageSeconds: 10 },
        { publicKey: a.node.publicKey, ageSeconds: 1 },
        { publicKey: net.hubPublicKey, ageSeconds: 2 },
        { publicKey: generateKeyPair().publicKey, ageSeconds: 3 },
      ],
    });
    const rows = await t.platform.database.db
      .select()
      .from(nodeReachability)
      .where(eq(nodeReachability.networkId, net.id));
    expect(rows.map((r) => [r.nodeId, r.peerId])).toEqual([[a.node.id, b.node.id]]);
    const at = rows[0]!.lastHandshakeAt.getTime();
    expect(at).toBeGreaterThanOrEqual(Math.floor(started / 1000 - 10) * 1000);
    expect(at).toBeLessThanOrEqual(Date.now() - 9_000);
    // An older report does not move it back.
    await heartbeat(t, a.node.id, a.token, {
      handshakes: [{ publicKey: b.node.publicKey, ageSeconds: 500 }],
    });
    const [again] = await t.platform.database.db
      .select()
      .from(nodeReachability)
      .where(eq(nodeReachability.nodeId, a.node.id));
    expect(again!.lastHandshakeAt.getTime()).toBe(at);
    // Pairs go with their nodes.
    expect((await t.request(`/api/v1/nodes/${b.node.id}`, { method: "DELETE" })).status).toBe(200);
    const left = await t.platform.database.db
      .select()
      .from(nodeReachability)
      .where(eq(nodeReachability.networkId, net.id));
    expect(left).toEqual([]);
  });

  it("takes agents reporting each other at the same time, every heartbeat answered", async () => {
    // Stored in the heartbeat's transaction, each report waited for its peers' locked rows: six
    // agents beating together deadlocked, and 15 rounds took ~15 s with a 500 among them.
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.87.0.0/24" });
    const all: Json[] = [];
    for (let i = 0; i < 6; i++) all.push(await createNode(t, net.id, { name: `r${i}` }));
    const statuses: number[] = [];
    for (let round = 0; round < 15; round++) {
      const answers = await Promise.all(
        all.map((n) =>
          t.request(`/api/v1/nodes/${n.node.id}/heartbeat`, {
            method: "POST",
            ...asToken(n.token),
            body: {
              handshakes: all
                .filter((o) => o !== n)
                .map((o) => ({ publicKey: o.node.publicKey, ageSeconds: 15 - round })),
            },
          }),
        ),
      );
      statuses.push(...answers.map((r) => r.status));
    }
    expect(statuses).toEqual(Array(6 * 15).fill(200));
    const rows = await t.platform.database.db
      .select()
      .from(nodeReachability)
      .where(eq(nodeReachability.networkId, net.id));
    expect(rows).toHaveLength(6 * 5);
  });

  it("commits a node's own row before its reports wait for a peer's row held by the peer's heartbeat", async () => {
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.88.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const b = await createNode(t, net.id, { name: "b" });
    const db = t.platform.database.db;
    let beat: Promise<Response> | undefined;
    await db.transaction(async (tx) => {
      // b's heartbeat is in flight: it holds b's row.
      await tx.execute(sql`select id from nodes where id = ${b.node.id} for update`);
      beat = t.request(`/api/v1/nodes/${a.node.id}/heartbeat`, {
        method: "POST",
        ...asToken(a.token),
        body: { handshakes: [{ publicKey: b.node.publicKey, ageSeconds: 3 }] },
      });
      // a's report of b waits for b's row...
      await vi.waitFor(
        async () => {
          const waiting = await db.execute(
            sql`select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.datname = current_database()`,
          );
          expect(Array.from(waiting as unknown as unknown[])).not.toHaveLength(0);
        },
        { timeout: 10_000, interval: 20 },
      );
      // ...holding nothing of a's: a's heartbeat is committed, so b's report of a would not wait on it.
      const [row] = await db.select().from(nodes).where(eq(nodes.id, a.node.id));
      expect(row!.status).toBe("online");
    });
    expect((await beat!).status).toBe(200);
  });

  it("still takes a heartbeat without candidates or handshakes, leaving stored candidates as they were", async () => {
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.83.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    await beatFrom(a, "203.0.113.4", { candidates: { listenPort: 51001, addresses: [] } });
    const stored = (await rowOf(a.node.id)).endpointCandidates;
    expect(stored).toEqual({ listenPort: 51001, addresses: [], reported: null, reflexive: "203.0.113.4" });
    const version = (await rowOf(a.node.id)).configVersion;
    expect(await beatFrom(a, "203.0.113.99", { metrics: { cpu: 5 }, configVersion: version })).toMatchObject({
      status: "online",
      configVersion: version,
    });
    expect((await rowOf(a.node.id)).endpointCandidates).toEqual(stored);
  });
});
