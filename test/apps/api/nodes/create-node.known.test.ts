/**
 * Enrollment into a network this process already knows (`createKnownAddresses`): it writes with no
 * read before its one statement, so whatever changed the network since it was known must still show,
 * through the statement's version check (the network row) or its own read (the hub lease).
 */
import { Queue } from "bullmq";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, events, networkLeases, nodes, rowsOf } from "../../../../src/db/index.js";
import { acquireLease } from "../../../../src/hubs/index.js";
import { hubQueueName } from "../../../../src/queue/index.js";
import { TEST_REDIS_URL } from "../../../support/env.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { StatementLog } from "../../../support/statement-log.js";

describe("enrollment into a network known from an enrollment before", () => {
  let t: TestPlatform;
  const db = () => t.platform.database.db;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("renders the next node's config from the network as changed by another connection, not as known", async () => {
    const net = await createNetwork(t, { cidr4: "10.71.0.0/24" });
    await createNode(t, net.id, { name: "known-dns-1" }); // the network is known here from now on
    // Another connection changes the row behind this process's back (no service of it ran).
    await db().execute(sql`update networks set dns = array['10.71.0.53'] where id = ${net.id}`);
    const created = await createNode(t, net.id, { name: "known-dns-2" });
    expect(created.config).toMatch(/^DNS = 10\.71\.0\.53$/m);
    expect(created.node.ip4).toBe("10.71.0.3");
  });

  it("answers 404 NETWORK_NOT_FOUND for a known network deleted since, and writes nothing", async () => {
    const net = await createNetwork(t, { cidr4: "10.72.0.0/24" });
    await createNode(t, net.id, { name: "known-gone-1" });
    await db().execute(sql`delete from networks where id = ${net.id}`);
    const res = await t.request("/api/v1/nodes", {
      method: "POST",
      body: { networkId: net.id, name: "known-gone-2" },
    });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(404);
    expect(body.code).toBe("NETWORK_NOT_FOUND");
    expect(await db().select().from(nodes).where(eq(nodes.name, "known-gone-2"))).toEqual([]);
    expect(
      await db()
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.action, "node.created"), sql`${auditLog.details}->>'name' = 'known-gone-2'`)),
    ).toEqual([]);
    expect(
      await db()
        .select()
        .from(events)
        .where(and(eq(events.type, "node.enrolled"), sql`${events.data}->>'name' = 'known-gone-2'`)),
    ).toEqual([]);
  });

  it("routes the next enrollment's peer sync to the new holder once the hub lease moved, the network row unchanged", async () => {
    const net = await createNetwork(t, { cidr4: "10.73.0.0/24" });
    await acquireLease(db(), net.id, "known-a", 60);
    const queues = {
      a: new Queue(hubQueueName("known-a"), { connection: { url: TEST_REDIS_URL }, prefix: t.prefix }),
      b: new Queue(hubQueueName("known-b"), { connection: { url: TEST_REDIS_URL }, prefix: t.prefix }),
    };
    const syncs = async (queue: Queue) =>
      (await queue.getJobs(["waiting", "prioritized", "active", "completed", "failed"])).filter(
        (j) => j.name === "network-sync" && j.data.networkId === net.id,
      ).length;
    try {
      await createNode(t, net.id, { name: "known-lease-1" });
      expect(await syncs(queues.a)).toBe(1);
      const version = async () =>
        rowsOf<{ v: string }>(
          await db().execute(sql`select xmin::text as v from networks where id = ${net.id}`),
        )[0]?.v;
      const before = await version();
      await db().update(networkLeases).set({ hubId: "known-b" }).where(eq(networkLeases.networkId, net.id));
      expect(await version()).toBe(before); // the version known still holds: no read comes before the statement
      await createNode(t, net.id, { name: "known-lease-2" });
      expect(await syncs(queues.b)).toBe(1);
      expect(await syncs(queues.a)).toBe(1);
    } finally {
      await queues.a.close();
      await queues.b.close();
    }
  });

  it("takes an address freed since the network was known full, instead of refusing the pool as exhausted", async () => {
    const net = await createNetwork(t, { cidr4: "10.74.0.0/29" }); // hub .1, nodes .2 … .6
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createNode(t, net.id, { name: `known-full-${i}` }));
    const full = await t.request("/api/v1/nodes", {
      method: "POST",
      body: { networkId: net.id, name: "known-full-x" },
    });
    expect(full.status).toBe(409);
    expect((await json(full)).code).toBe("ADDRESS_POOL_EXHAUSTED");
    const freed = await t.request(`/api/v1/nodes/${made[1]!.node.id}`, { method: "DELETE" });
    expect(freed.status).toBe(200);
    expect((await createNode(t, net.id, { name: "known-full-y" })).node.ip4).toBe("10.74.0.3");
  });
});

describe("round trips of an enrollment into a known network", () => {
  let t: TestPlatform;
  let log: StatementLog;
  beforeAll(async () => {
    log = new StatementLog({ host: "127.0.0.1", port: 5432 });
    await log.start();
    // The outbox relay waits long: only the enrollments' own statements go through meanwhile.
    t = await createTestPlatform({
      databaseUrl: (url) => log.through(url),
      notify: { relayIntervalMs: 3_600_000 },
    });
  });
  afterAll(async () => {
    await t?.close();
    await log?.close();
  });

  it("runs one statement once the network is known, two before (the read, then the statement)", async () => {
    const net = await createNetwork(t, { cidr4: "10.75.0.0/24" });
    const during = async (name: string) => {
      const from = log.statements.length;
      await createNode(t, net.id, { name });
      return log.statements.slice(from);
    };
    /** What each statement is: the enrollment's read, its one statement, or something else. */
    const kinds = (statements: string[]) =>
      statements.map((s) => (/^with locked as/.test(s) ? "statement" : /xmin::text/.test(s) ? "read" : s));
    expect(kinds(await during("known-rt-1"))).toEqual(["read", "statement"]);
    expect(kinds(await during("known-rt-2"))).toEqual(["statement"]);
    expect(kinds(await during("known-rt-3"))).toEqual(["statement"]);
  });
});
