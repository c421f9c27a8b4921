import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import type { Tx } from "../../../../src/db/index.js";
import { auditLog, events, networks, nodes, rowsOf as resultRows } from "../../../../src/db/index.js";
import { getNetwork } from "../../../../src/mesh/mesh.repo.js";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import type { Json } from "../../../support/http.js";
import { createNetwork } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

/** Enrollments side by side over real sockets: addresses stay distinct, every row exactly once. */
describe("concurrent enrollment into one network", () => {
  let t: TestPlatform;
  let server: RunningServer;
  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  const enroll = async (networkId: string, name: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/nodes`, {
      method: "POST",
      headers: { "X-API-Key": t.adminKey, "Content-Type": "application/json" },
      body: JSON.stringify({ networkId, name }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const enrollMany = (networkId: string, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => enroll(networkId, `c${i}`)));

  /** Rows of the network's nodes, and the audit rows and outbox events of their enrollment. */
  async function rowsOf(networkId: string) {
    const { db } = t.platform.database;
    const nodeRows = await db.select().from(nodes).where(eq(nodes.networkId, networkId));
    const audits = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "node.created"), sql`${auditLog.details}->>'networkId' = ${networkId}`));
    const enrolled = await db
      .select()
      .from(events)
      .where(and(eq(events.type, "node.enrolled"), sql`${events.data}->'network'->>'id' = ${networkId}`));
    return { nodeRows, audits, enrolled };
  }

  /**
   * Enrolls `name` while `change` runs in a transaction held open, uncommitted: the transaction is
   * released once the enrollment waits for the network's row lock, and the enrollment's answer returned.
   */
  const enrollWhileHeld = async (networkId: string, name: string, change: (tx: Tx) => Promise<unknown>) => {
    const { db } = t.platform.database;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const changing = db.transaction(async (tx) => {
      await change(tx);
      locked();
      await held;
    });
    await isLocked;
    const enrolling = enroll(networkId, name);
    await vi.waitFor(
      async () => {
        const [row] = resultRows<{ n: number }>(
          await db.execute(
            sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          ),
        );
        expect(row?.n).toBe(1);
      },
      { timeout: 10_000, interval: 10 },
    );
    release();
    await changing;
    return enrolling;
  };

  it("gives 100 enrollments 100 distinct address pairs, all 201, and each node, audit row and event exactly once", async () => {
    const net = await createNetwork(t, { cidr4: "10.61.0.0/24", cidr6: "fd00:61::/64" });
    const results = await enrollMany(net.id, 100);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(201));
    const ip4s = results.map((r) => r.body.data.node.ip4 as string);
    const ip6s = results.map((r) => r.body.data.node.ip6 as string);
    expect(new Set(ip4s).size).toBe(100);
    expect(new Set(ip6s).size).toBe(100);
    // Nothing skipped: the lowest 100 node addresses, .2 to .101 (the hub holds .1).
    expect(ip4s.map((ip) => Number(ip.split(".")[3])).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 2),
    );
    const { nodeRows, audits, enrolled } = await rowsOf(net.id);
    expect(nodeRows).toHaveLength(100);
    expect(new Set(nodeRows.map((n) => n.ip4)).size).toBe(100);
    expect(audits).toHaveLength(100);
    expect(new Set(audits.map((a) => a.entityId))).toEqual(new Set(nodeRows.map((n) => n.id)));
    expect(enrolled).toHaveLength(100);
  });

  it("reuses freed addresses under concurrency: 100 enrollments after 20 deletions take the 20 freed, lowest first, then the next 80", async () => {
    const net = await createNetwork(t, { cidr4: "10.65.0.0/24" });
    const first = await enrollMany(net.id, 100);
    expect(first.map((r) => r.status)).toEqual(Array(100).fill(201));
    // Free every fifth address: .2, .7, … .97.
    const freed = first.filter((r) => Number(String(r.body.data.node.ip4).split(".")[3]) % 5 === 2);
    expect(freed).toHaveLength(20);
    for (const r of freed) {
      const res = await t.request(`/api/v1/nodes/${r.body.data.node.id}`, { method: "DELETE" });
      expect(res.status).toBe(200);
    }
    const again = await Promise.all(Array.from({ length: 100 }, (_, i) => enroll(net.id, `d${i}`)));
    expect(again.filter((r) => r.status >= 500)).toEqual([]);
    expect(again.map((r) => r.status)).toEqual(Array(100).fill(201));
    const octets = again.map((r) => Number(String(r.body.data.node.ip4).split(".")[3])).sort((x, y) => x - y);
    expect(octets).toEqual([
      ...freed.map((r) => Number(String(r.body.data.node.ip4).split(".")[3])).sort((x, y) => x - y),
      ...Array.from({ length: 80 }, (_, i) => i + 102),
    ]);
    const { nodeRows } = await rowsOf(net.id);
    expect(nodeRows).toHaveLength(180);
    expect(new Set(nodeRows.map((n) => n.ip4)).size).toBe(180);
  });

  it("builds a node from the network as locked: a network change committed while the enrollment waits for the lock is in its config", async () => {
    const net = await createNetwork(t, { cidr4: "10.66.0.0/24" });
    // Another change holds the network's lock, uncommitted, while the enrollment starts (a read of the
    // network outside the lock would see the old row) and waits for the lock.
    const created = await enrollWhileHeld(net.id, "late", (tx) =>
      tx.update(networks).set({ mtu: 1280 }).where(eq(networks.id, net.id)),
    );
    expect(created.status).toBe(201);
    const config = created.body.data.config as string;
    expect(config).toContain("MTU = 1280");
    const served = await t.request(`/api/v1/nodes/${created.body.data.node.id}/config`);
    expect(await served.text()).toBe(config);
  });

  it("builds a node from the routes as locked: a node taking routes, committed while the enrollment waits for the lock, is in its config", async () => {
    const net = await createNetwork(t, { cidr4: "10.68.0.0/24" });
    // The network's exclusive lock, as every change of routes takes it, held while a router joins and
    // while the enrollment (which read the network before, without routes) waits for the lock.
    const created = await enrollWhileHeld(net.id, "late", async (tx) => {
      await getNetwork(tx, net.id, { lock: "update" });
      await tx.insert(nodes).values({
        networkId: net.id,
        name: "router",
        publicKey: generateKeyPair().publicKey,
        ip4: "10.68.0.200",
        extraAllowedIps: ["192.168.68.0/24"],
      });
    });
    expect(created.status).toBe(201);
    const config = created.body.data.config as string;
    expect(config).toContain("192.168.68.0/24");
    const served = await t.request(`/api/v1/nodes/${created.body.data.node.id}/config`);
    expect(await served.text()).toBe(config);
    const read = await t.request(`/api/v1/nodes/${created.body.data.node.id}`);
    expect(((await read.json()) as Json).data).toEqual(created.body.data.node);
  });

  it("fills a /28 with exactly its 13 nodes and refuses the other 37 with 409 ADDRESS_POOL_EXHAUSTED", async () => {
    const net = await createNetwork(t, { cidr4: "10.62.0.0/28" });
    const results = await enrollMany(net.id, 50);
    expect(results.filter((r) => r.status >= 500).map((r) => [r.status, r.body])).toEqual([]);
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    expect(created).toHaveLength(13);
    expect(refused).toHaveLength(37);
    expect(refused.every((r) => r.body.code === "ADDRESS_POOL_EXHAUSTED")).toBe(true);
    expect(created.map((r) => r.body.data.node.ip4).sort()).toEqual(
      Array.from({ length: 13 }, (_, i) => `10.62.0.${i + 2}`).sort(),
    );
    const { nodeRows, audits, enrolled } = await rowsOf(net.id);
    expect(nodeRows).toHaveLength(13);
    expect(audits).toHaveLength(13);
    expect(enrolled).toHaveLength(13);
  });

  it("keeps a mesh's enrollments apart too: 30 at once, 30 distinct addresses, every config version moved", async () => {
    const net = await createNetwork(t, { cidr4: "10.63.0.0/24", topology: "mesh" });
    const results = await enrollMany(net.id, 30);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(201));
    expect(new Set(results.map((r) => r.body.data.node.ip4)).size).toBe(30);
    const { nodeRows, audits } = await rowsOf(net.id);
    expect(nodeRows).toHaveLength(30);
    expect(audits).toHaveLength(30);
    // In a mesh each enrollment changes every node's config: the first node's config has moved once
    // for each of the 29 after it (serialised under the exclusive lock, none lost).
    const versions = nodeRows.map((n) => n.configVersion).sort((a, b) => a - b);
    expect(versions.at(-1)! - versions[0]!).toBe(29);
  });

  it("hands out at enrollment the same config GET /config serves, routes behind other nodes included", async () => {
    const net = await createNetwork(t, { cidr4: "10.64.0.0/24" });
    const router = await t.request("/api/v1/nodes", {
      method: "POST",
      body: { networkId: net.id, name: "router", extraAllowedIps: ["192.168.64.0/24"] },
    });
    expect(router.status).toBe(201);
    const created = await enroll(net.id, "laptop");
    expect(created.status).toBe(201);
    const config = created.body.data.config as string;
    expect(config).toContain("192.168.64.0/24");
    const served = await t.request(`/api/v1/nodes/${created.body.data.node.id}/config`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(config);
  });
});

/**
 * Two API processes on one database: an enrollment reads the network's addresses only when the
 * network row changed since it last did, so what the other process did meanwhile must still count.
 */
describe("enrollment beside another API process", () => {
  let t: TestPlatform;
  let other: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
    other = await createTestPlatform({
      database: t.db,
      prefix: t.prefix,
      encryptionKeys: { current: t.encryptionKey, previous: [] },
    });
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  const enroll = async (p: TestPlatform, networkId: string, name: string) => {
    const res = await p.request("/api/v1/nodes", { method: "POST", body: { networkId, name } });
    expect(res.status).toBe(201);
    return Number(String(((await res.json()) as Json).data.node.ip4).split(".")[3]);
  };

  it("steps over addresses the other process took, and reuses the lowest one it freed", async () => {
    const net = await createNetwork(t, { cidr4: "10.69.0.0/24" });
    expect([await enroll(t, net.id, "a1"), await enroll(t, net.id, "a2")]).toEqual([2, 3]);
    // The other process takes .4 and .5; this one still knows the network as it read it (.2, .3).
    expect([await enroll(other, net.id, "b1"), await enroll(other, net.id, "b2")]).toEqual([4, 5]);
    expect(await enroll(t, net.id, "a3")).toBe(6);
    // Ten at once here while the other process enrolls ten: twenty distinct addresses, none skipped.
    const both = await Promise.all(
      Array.from({ length: 20 }, (_, i) => enroll(i % 2 ? other : t, net.id, `c${i}`)),
    );
    expect(both.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 7));
    // The other process frees .3: the next enrollment here takes it, lowest first.
    const [a2] = await other.platform.database.db.select().from(nodes).where(eq(nodes.name, "a2"));
    expect((await other.request(`/api/v1/nodes/${a2!.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await enroll(t, net.id, "a4")).toBe(3);
    expect(await enroll(t, net.id, "a5")).toBe(27);
  });
});

/**
 * One connection, as the embedded database gives: an enrollment must never hold the connection
 * while it waits for another statement of its own on the pool (a read made outside its
 * transaction), or the two wait for each other until the pool's bound gives up (503).
 */
describe("concurrent enrollment on a single database connection", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ poolSize: 1 });
  });
  afterAll(async () => {
    await t.close();
  });

  it("enrolls 20 at once, each with its own address, none waiting out the pool's bound", async () => {
    const net = await createNetwork(t, { cidr4: "10.67.0.0/24" });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.request("/api/v1/nodes", { method: "POST", body: { networkId: net.id, name: `s${i}` } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ip4s = await Promise.all(
      results.map(async (r) => ((await r.json()) as Json).data.node.ip4 as string),
    );
    expect(ip4s.map((ip) => Number(ip.split(".")[3])).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
  });
});
