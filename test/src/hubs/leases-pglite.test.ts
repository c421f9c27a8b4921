/**
 * The lease statements on the embedded database (`npm start` runs a hub host on PGlite): acquire,
 * renew, expiry, heartbeats and the takeover's event, with exact epochs.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/index.js";
import { events, networkLeases } from "../../../src/db/index.js";
import type { HubNetwork } from "../../../src/hubs/index.js";
import {
  acquireLease,
  createLeaseKeeper,
  listHubHosts,
  readLeases,
  renewLease,
} from "../../../src/hubs/index.js";
import { usedAddresses } from "../../../src/mesh/mesh.repo.js";
import { captureLogger } from "../../support/logs.js";
import { openTestPglite, type TestPglite } from "../../support/pglite.js";

describe("network leases on PGlite", () => {
  let pglite: TestPglite;
  let database: Database;
  let networkId: string;

  beforeAll(async () => {
    pglite = await openTestPglite("leases");
    database = pglite.database;
    networkId = await pglite.insertNetwork({
      cidr4: "10.99.0.0/24",
      hubIp4: "10.99.0.1",
      standbyHubId: "spare",
    });
  }, 120_000);
  afterAll(async () => {
    await pglite?.close();
  });

  it("acquires, renews, expires and takes over with the same epochs as on Postgres", async () => {
    const db = database.db;
    // An enrollment reads the lease with the network's addresses, to route its peer sync.
    expect((await usedAddresses(db, networkId)).lease).toBeNull();
    expect(await acquireLease(db, networkId, "main", 15)).toBe(1);
    expect((await usedAddresses(db, networkId)).lease).toEqual({ hubId: "main", live: true });
    expect(await acquireLease(db, networkId, "spare", 15)).toBeUndefined();
    expect(await renewLease(db, networkId, "main", 1, 15)).toBe(true);
    expect(await renewLease(db, networkId, "spare", 1, 15)).toBe(false);
    await db
      .update(networkLeases)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(networkLeases.networkId, networkId));
    expect(await readLeases(db, [networkId])).toMatchObject([{ hubId: "main", epoch: 1, live: false }]);
    expect((await usedAddresses(db, networkId)).lease).toEqual({ hubId: "main", live: false });

    const served: string[] = [];
    const keeper = createLeaseKeeper({
      db,
      hubId: "spare",
      refs: ["embedded"],
      ttlSeconds: 15,
      version: "test",
      logger: captureLogger().logger,
      actions: {
        async serve(n: HubNetwork, epoch: number) {
          served.push(`${n.name} ${epoch}`);
        },
        async clear() {},
      },
    });
    await keeper.tick();
    await keeper.settled();
    expect(served).toEqual(["embedded 2"]);
    expect(keeper.holds(networkId)).toBe(true);
    expect(
      (await listHubHosts(db, 15)).map((h) => ({ id: h.id, live: h.live, networks: h.networks })),
    ).toEqual([{ id: "spare", live: true, networks: [networkId] }]);
    const takeovers = await db.select().from(events).where(eq(events.type, "hub.takeover"));
    expect(takeovers.map((e) => e.data)).toEqual([
      expect.objectContaining({ from: "main", to: "spare", epoch: 2 }),
    ]);
    expect(await renewLease(db, networkId, "main", 1, 15)).toBe(false);
  });
});
