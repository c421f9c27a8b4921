import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import { auditLog, events, nodes } from "../../../../src/db/index.js";
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
