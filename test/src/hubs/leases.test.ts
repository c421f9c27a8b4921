/**
 * Network leases on a real Postgres: acquire, renew and expiry with exact epochs, the fence of a hub
 * host (by its own clock, and when another host took over), the takeover's event and audit row, the
 * refusal of a second primary, routing of a network's jobs to its holder's queue, and "owner absent"
 * in /health/ready and the drift report.
 */
import { Queue } from "bullmq";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, events, networkLeases } from "../../../src/db/index.js";
import type { HubNetwork, LeaseActions } from "../../../src/hubs/index.js";
import {
  acquireLease,
  createLeaseKeeper,
  createRoutedQueue,
  fenceMarginMs,
  HubConflictError,
  listHubHosts,
  readLeases,
  releaseLease,
  renewLease,
  routeOf,
} from "../../../src/hubs/index.js";
import { hubQueueName } from "../../../src/queue/index.js";
import { createApiKey } from "../../support/auth.js";
import { TEST_REDIS_URL } from "../../support/env.js";
import { fakeInterfaceOps } from "../../support/fake-interfaces.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

const TTL = 6;

describe("network leases", () => {
  let t: TestPlatform;
  const db = () => t.platform.database.db;
  /** Ends a lease now, as the database's clock sees it, as if its holder had stopped renewing. */
  const expire = (networkId: string) =>
    db()
      .update(networkLeases)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(networkLeases.networkId, networkId));

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("acquires when free or expired, renews only for the same holder and epoch, and counts takeovers", async () => {
    const net = await createNetwork(t);
    expect(await acquireLease(db(), net.id, "hub-a", TTL)).toBe(1);
    expect(await acquireLease(db(), net.id, "hub-b", TTL)).toBeUndefined();
    expect(await renewLease(db(), net.id, "hub-a", 1, TTL)).toBe(true);
    expect(await renewLease(db(), net.id, "hub-b", 1, TTL)).toBe(false);
    expect(await renewLease(db(), net.id, "hub-a", 2, TTL)).toBe(false);

    await expire(net.id);
    expect(await readLeases(db(), [net.id])).toMatchObject([{ hubId: "hub-a", epoch: 1, live: false }]);
    expect(await acquireLease(db(), net.id, "hub-b", TTL)).toBe(2);
    // The old holder's epoch is gone: it can neither renew nor take the live lease back.
    expect(await renewLease(db(), net.id, "hub-a", 1, TTL)).toBe(false);
    expect(await acquireLease(db(), net.id, "hub-a", TTL)).toBeUndefined();
    // A restarted holder takes its own lease again, under a new epoch.
    expect(await acquireLease(db(), net.id, "hub-b", TTL)).toBe(3);
    expect(await renewLease(db(), net.id, "hub-b", 2, TTL)).toBe(false);
    expect(await readLeases(db(), [net.id])).toMatchObject([{ hubId: "hub-b", epoch: 3, live: true }]);

    await releaseLease(db(), net.id, "hub-b", 3);
    expect(await readLeases(db(), [net.id])).toMatchObject([{ epoch: 3, live: false }]);
    expect(await acquireLease(db(), net.id, "hub-a", TTL)).toBe(4);
  });

  it("gives a lease to exactly one of many hosts racing for it", async () => {
    const net = await createNetwork(t);
    const hosts = Array.from({ length: 8 }, (_, i) => `racer-${i}`);
    const won = await Promise.all(hosts.map((h) => acquireLease(db(), net.id, h, TTL)));
    expect(won.filter((e) => e !== undefined)).toEqual([1]);
  });

  /** A keeper over `refs` whose clock the test moves, recording what it asks of the data plane. */
  function keeperOf(hubId: string, refs: string[], clock: { ms: number }) {
    const calls: string[] = [];
    const actions: LeaseActions = {
      async serve(n: HubNetwork, epoch: number) {
        calls.push(`serve ${n.name} ${epoch}`);
      },
      async clear(n: HubNetwork, why) {
        calls.push(`clear ${n.name} ${why}`);
      },
    };
    const keeper = createLeaseKeeper({
      db: db(),
      hubId,
      refs,
      ttlSeconds: TTL,
      version: "test",
      logger: t.platform.logger,
      actions,
      now: () => clock.ms,
    });
    return { keeper, calls };
  }

  it("fences a host by its own clock: past its deadline it stops applying and clears the interface", async () => {
    const net = await createNetwork(t);
    await t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { standbyHubId: "fence-b" } });
    const clock = { ms: 1_000_000 };
    const { keeper, calls } = keeperOf("fence-a", [net.name], clock);
    await keeper.tick();
    await keeper.settled();
    expect(keeper.holds(net.id)).toBe(true);
    expect(keeper.epochOf(net.id)).toBe(1);
    expect(calls).toEqual([`serve ${net.name} 1`]);

    // The deadline is the clock at the renewal's start plus the lease time, less the margin.
    clock.ms += TTL * 1_000 - fenceMarginMs(TTL) - 1;
    expect(keeper.holds(net.id)).toBe(true);
    clock.ms += 1;
    expect(keeper.holds(net.id)).toBe(false);
    await keeper.fence();
    await keeper.settled();
    expect(calls).toEqual([`serve ${net.name} 1`, `clear ${net.name} lost`]);
    expect(keeper.epochOf(net.id)).toBeUndefined();

    // Its lease is still its own in Postgres: the next round takes it again under a new epoch.
    await keeper.tick();
    await keeper.settled();
    expect(keeper.epochOf(net.id)).toBe(2);
    expect(calls.at(-1)).toBe(`serve ${net.name} 2`);
  });

  it("warns once, naming it, about a WG_INTERFACES entry that names no network, and serves the others", async () => {
    const net = await createNetwork(t);
    const ref = `no-such-network-${net.id.slice(0, 8)}`;
    const clock = { ms: 3_000_000 };
    const { keeper, calls } = keeperOf("typo-a", [ref, net.name], clock);
    await keeper.tick();
    await keeper.tick();
    await keeper.settled();
    expect(keeper.networks().map((n) => n.id)).toEqual([net.id]);
    expect(calls).toEqual([`serve ${net.name} 1`]);
    const [host] = (await listHubHosts(db(), TTL)).filter((h) => h.id === "typo-a");
    expect(host!.networks).toEqual([net.id]);
    const warnings = t.logs.text
      .split("\n")
      .filter((l) => l.includes("declared network not found"))
      .map((l) => JSON.parse(l) as { ref: string; setting: string; hubId: string });
    expect(warnings.filter((w) => w.hubId === "typo-a")).toEqual([
      expect.objectContaining({ ref, setting: "WG_INTERFACES", hubId: "typo-a" }),
    ]);
  });

  it("fences a network without a standby too, but leaves its peers: nobody could take it over", async () => {
    const net = await createNetwork(t);
    const clock = { ms: 2_000_000 };
    const { keeper, calls } = keeperOf("alone-a", [net.name], clock);
    await keeper.tick();
    await keeper.settled();
    clock.ms += TTL * 1_000;
    await keeper.fence();
    await keeper.settled();
    expect(keeper.holds(net.id)).toBe(false);
    expect(calls).toEqual([`serve ${net.name} 1`]);
    await keeper.tick();
    await keeper.settled();
    expect(keeper.epochOf(net.id)).toBe(2);
  });

  it("hands a network over when its holder stops renewing: the old holder clears it, the takeover is an event and an audit row", async () => {
    const net = await createNetwork(t, { standbyHubId: undefined });
    await t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { standbyHubId: "take-b" } });
    const clockA = { ms: 5_000_000 };
    const clockB = { ms: 9_000_000 };
    const a = keeperOf("take-a", [net.name], clockA);
    const b = keeperOf("take-b", [net.name], clockB);
    await a.keeper.tick();
    await a.keeper.settled();
    await b.keeper.tick();
    await b.keeper.settled();
    expect(a.keeper.holds(net.id)).toBe(true);
    expect(b.keeper.holds(net.id)).toBe(false);
    // The standby keeps the interface ready with no peers, once.
    expect(b.calls).toEqual([`clear ${net.name} standby`]);
    await b.keeper.tick();
    await b.keeper.settled();
    expect(b.calls).toEqual([`clear ${net.name} standby`]);

    await expire(net.id);
    await b.keeper.tick();
    await b.keeper.settled();
    expect(b.keeper.epochOf(net.id)).toBe(2);
    expect(b.calls.at(-1)).toBe(`serve ${net.name} 2`);
    // A's clock has not reached its deadline, but its renewal finds the lease taken.
    expect(a.keeper.holds(net.id)).toBe(true);
    await a.keeper.tick();
    await a.keeper.settled();
    expect(a.keeper.holds(net.id)).toBe(false);
    expect(a.calls).toEqual([`serve ${net.name} 1`, `clear ${net.name} lost`]);
    // Back again, A stays standby: the lease is live and B's.
    await a.keeper.tick();
    await a.keeper.settled();
    expect(a.keeper.holds(net.id)).toBe(false);
    expect(a.calls).toHaveLength(2);

    const takeovers = await db().select().from(events).where(eq(events.type, "hub.takeover"));
    expect(takeovers.map((e) => e.data)).toEqual([
      {
        network: { id: net.id, name: net.name },
        from: "take-a",
        to: "take-b",
        epoch: 2,
        expiredAt: expect.any(String),
      },
    ]);
    const audits = await db().select().from(auditLog).where(eq(auditLog.action, "hub.takeover"));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor: "hub:take-b", entityType: "network", entityId: net.id });
  });

  it("refuses a second primary for a network, naming the first; a named standby starts", async () => {
    const net = await createNetwork(t);
    const first = keeperOf("prim-a", [net.name], { ms: 0 });
    await first.keeper.checkConflicts();
    const second = keeperOf("prim-b", [net.name], { ms: 0 });
    const refused = await second.keeper.checkConflicts().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HubConflictError);
    expect((refused as Error).message).toContain(`hub host prim-a already serves network ${net.name}`);

    const res = await t.request(`/api/v1/networks/${net.id}`, {
      method: "PATCH",
      body: { standbyHubId: "prim-b" },
    });
    expect((await json(res)).data.standbyHubId).toBe("prim-b");
    await expect(second.keeper.checkConflicts()).resolves.toBeUndefined();
  });

  it("refuses a standby host id that could not name a queue, changing nothing", async () => {
    const net = await createNetwork(t);
    const res = await t.request(`/api/v1/networks/${net.id}`, {
      method: "PATCH",
      body: { standbyHubId: "bad:id" },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).code).toBe("VALIDATION_FAILED");
    const after = await json(await t.request(`/api/v1/networks/${net.id}`));
    expect(after.data.standbyHubId).toBeNull();
  });

  it("routes a network's jobs to its holder's queue, to the shared queue when never held, and nowhere when the owner is absent", async () => {
    const held = await createNetwork(t);
    const never = await createNetwork(t);
    await acquireLease(db(), held.id, "route-a", TTL);
    expect(await routeOf(db(), held.id)).toEqual({ kind: "hub", hubId: "route-a", epoch: 1 });
    expect(await routeOf(db(), never.id)).toEqual({ kind: "any" });

    const routed = createRoutedQueue(t.platform.queue, db());
    await routed.enqueue("network-sync", { networkId: held.id, reason: "test" }, { priority: "critical" });
    await routed.enqueue("network-sync", { networkId: never.id, reason: "test" }, { priority: "critical" });
    const hubQueue = new Queue(hubQueueName("route-a"), {
      connection: { url: TEST_REDIS_URL },
      prefix: t.prefix,
    });
    try {
      // Only the two triggers of this test (reason "test"): creating the networks queued others.
      const ours = (jobs: { data: { networkId: string; reason: string } }[]) =>
        jobs.filter((j) => j.data.reason === "test").map((j) => j.data.networkId);
      expect(ours(await hubQueue.getJobs(["waiting", "prioritized"]))).toEqual([held.id]);
      const shared = await t.platform.queue.queues["peer-sync"].getJobs(["waiting", "prioritized"]);
      expect(ours(shared)).toEqual([never.id]);

      await expire(held.id);
      const refused = await routed
        .enqueue("network-sync", { networkId: held.id, reason: "test" }, { priority: "critical" })
        .catch((e: unknown) => e);
      expect((refused as { code: string }).code).toBe("HUB_OWNER_ABSENT");
      expect((await hubQueue.getJobs(["waiting", "prioritized"])).length).toBe(1);
    } finally {
      await hubQueue.close();
    }
  });

  it("routes an enrollment's peer sync by the lease it read with the addresses: holder's queue, shared queue, none when absent", async () => {
    const held = await createNetwork(t);
    const never = await createNetwork(t);
    const gone = await createNetwork(t);
    await acquireLease(db(), held.id, "enroll-a", TTL);
    await acquireLease(db(), gone.id, "enroll-b", TTL);
    await expire(gone.id);
    const queues = {
      a: new Queue(hubQueueName("enroll-a"), { connection: { url: TEST_REDIS_URL }, prefix: t.prefix }),
      b: new Queue(hubQueueName("enroll-b"), { connection: { url: TEST_REDIS_URL }, prefix: t.prefix }),
    };
    try {
      const enrolled = [
        await createNode(t, held.id, { name: "routed-held" }),
        await createNode(t, never.id, { name: "routed-never" }),
        await createNode(t, gone.id, { name: "routed-gone" }),
      ];
      expect(enrolled.map((e) => e.node.status)).toEqual(["pending", "pending", "pending"]);
      const syncs = async (queue: Queue, networkId: string) =>
        (await queue.getJobs(["waiting", "prioritized", "active", "completed", "failed"])).filter(
          (j) =>
            j.name === "network-sync" && j.data.networkId === networkId && /enrolled/.test(j.data.reason),
        ).length;
      const shared = t.platform.queue.queues["peer-sync"];
      expect(await syncs(queues.a, held.id)).toBe(1);
      expect(await syncs(shared, held.id)).toBe(0);
      expect(await syncs(shared, never.id)).toBe(1);
      // The holder is gone: no queue gets the job (the routed queue reports the owner absent).
      expect(await syncs(queues.b, gone.id)).toBe(0);
      expect(await syncs(shared, gone.id)).toBe(0);
    } finally {
      await queues.a.close();
      await queues.b.close();
    }
  });

  it("says 'owner absent' in /health/ready and the drift report, and stays ready", async () => {
    const net = await createNetwork(t);
    await acquireLease(db(), net.id, "gone-a", TTL);
    await expire(net.id);
    const ready = await t.request("/health/ready");
    const body = await json(ready);
    expect(ready.status).toBe(200);
    expect(body.hubs.absent, JSON.stringify(body.hubs)).toContain(net.name);
    expect(body.hubs.networks.find((n: { networkId: string }) => n.networkId === net.id)).toEqual({
      networkId: net.id,
      name: net.name,
      state: "owner-absent",
      hubId: "gone-a",
      epoch: 1,
      standbyHubId: null,
    });
    // Anyone else (anonymous, a read key) gets counts only: no network, name or host.
    const tally = (state: string) =>
      body.hubs.networks.filter((n: { state: string }) => n.state === state).length;
    const readKey = (await createApiKey(t, ["read"], "ready-reader")).key;
    for (const key of [null, readKey]) {
      const counted = await t.request("/health/ready", { key });
      expect(counted.status).toBe(200);
      const text = await counted.text();
      expect(JSON.parse(text).hubs).toEqual({
        serving: tally("serving"),
        absent: tally("owner-absent"),
        unassigned: tally("unassigned"),
      });
      expect(JSON.parse(text).hubs.absent).toBeGreaterThanOrEqual(1);
      for (const secret of [net.id, net.name, "gone-a"]) expect(text).not.toContain(secret);
    }
    // The admin's network read says who holds it; a read key's does not.
    const adminRead = (await json(await t.request(`/api/v1/networks/${net.id}`))).data;
    expect(adminRead.hub).toEqual({ state: "owner-absent", holder: "gone-a" });
    const readerRead = (await json(await t.request(`/api/v1/networks/${net.id}`, { key: readKey }))).data;
    expect(readerRead.id).toBe(net.id);
    expect(readerRead).not.toHaveProperty("hub");

    const drift = await t.request(`/api/v1/networks/${net.id}/drift`);
    const problem = await json(drift);
    expect(drift.status).toBe(503);
    expect(problem.code).toBe("HUB_OWNER_ABSENT");
    expect(problem.detail).toContain("owner absent: hub host gone-a");
  });
});

describe("peer sync behind the lease fence", () => {
  let t: TestPlatform;
  const { ops, fakes } = fakeInterfaceOps();
  beforeAll(async () => {
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "fenced", iface: "wsfenced", netns: undefined }], driver: "auto" },
      interfaceOps: ops,
      hubs: { id: "fence-host", leaseSeconds: TTL },
    });
  });
  afterAll(async () => {
    await t.platform.hub.keeper?.stop();
    await t?.close();
  });

  it("applies nothing without the lease, brings the interface up when it acquires it, and clears it when it loses it", async () => {
    const net = await createNetwork(t, { name: "fenced", cidr4: "10.91.0.0/24", listenPort: 52901 });
    await createNode(t, net.id);
    await createNode(t, net.id);
    // Another host holds the lease.
    await acquireLease(t.platform.database.db, net.id, "other-host", TTL);
    const sync = () =>
      t.platform.services.peerSync.syncNetwork(net.id, { removeUnknown: false, reportDrift: false });
    const before = await sync();
    expect(before).toMatchObject({ managed: false, writes: 0 });
    expect(before.note).toContain("standby");

    const keeper = t.platform.hub.keeper!;
    await keeper.tick();
    await keeper.settled();
    expect(keeper.holds(net.id)).toBe(false);
    // Ready as a standby: the interface exists with the hub's key and port, and carries no peers.
    const standby = await fakes.get("wsfenced")!.dump();
    expect(standby).toMatchObject({ publicKey: net.hubPublicKey, listenPort: 52901, peers: [] });

    await t.platform.database.db
      .update(networkLeases)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(networkLeases.networkId, net.id));
    await keeper.tick();
    await keeper.settled();
    expect(keeper.epochOf(net.id)).toBe(2);
    expect((await fakes.get("wsfenced")!.dump()).peers).toHaveLength(2);

    // Taken over by another host: the next round finds out and clears the interface.
    await t.platform.database.db
      .update(networkLeases)
      .set({ hubId: "other-host", epoch: 3 })
      .where(eq(networkLeases.networkId, net.id));
    await keeper.tick();
    await keeper.settled();
    expect(keeper.holds(net.id)).toBe(false);
    expect((await fakes.get("wsfenced")!.dump()).peers).toHaveLength(0);
    expect(await sync()).toMatchObject({ managed: false, writes: 0 });
    expect((await fakes.get("wsfenced")!.dump()).peers).toHaveLength(0);
  });
});
