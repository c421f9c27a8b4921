import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/index.js";
import { openDatabase, schedulerTicks } from "../../../src/db/index.js";
import type { TickClaims } from "../../../src/scheduler-claims/index.js";
import { createTickClaims } from "../../../src/scheduler-claims/index.js";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";

const MINUTE_MS = 60_000;
const T0 = Date.parse("2026-12-06T10:00:00Z");

/** A promise and the function that settles it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("tick claims across processes (one connection pool each)", () => {
  let test: TestDatabase;
  const pools: Database[] = [];
  let claims: TickClaims[];

  beforeAll(async () => {
    test = await createTestDatabase(2);
    for (let i = 0; i < 3; i++)
      pools.push(await openDatabase({ kind: "postgres", url: test.url, poolSize: 4 }));
    claims = pools.map((database, i) => createTickClaims({ database, holder: `p${i}` }));
  });
  afterAll(async () => {
    for (const pool of pools) await pool.close();
    await test.drop();
  });

  it("gives each slot to exactly one of three processes claiming it at once, and records who", async () => {
    for (let minute = 0; minute < 20; minute++) {
      const slot = new Date(T0 + minute * MINUTE_MS);
      const won = await Promise.all(claims.map((c) => c.claim("node-liveness", slot)));
      expect(won.filter(Boolean), `slot ${slot.toISOString()}`).toHaveLength(1);
      const winner = claims[won.indexOf(true)]!.holder;
      const [row] = await test.database.db
        .select()
        .from(schedulerTicks)
        .where(eq(schedulerTicks.name, "node-liveness"));
      expect(row).toMatchObject({ slot, claimedBy: winner });
    }
  });

  it("refuses a slot already claimed or older than the last claimed one (a late or slow clock)", async () => {
    const [a, b] = claims as [TickClaims, TickClaims];
    const slot = new Date(T0 + 60 * MINUTE_MS);
    expect(await a.claim("retention", slot)).toBe(true);
    expect(await a.claim("retention", slot)).toBe(false);
    expect(await b.claim("retention", slot)).toBe(false);
    expect(await b.claim("retention", new Date(slot.getTime() - 1_000))).toBe(false);
    expect(await b.claim("retention", new Date(slot.getTime() + 1_000))).toBe(true);
  });

  it("keeps each tick's slots apart", async () => {
    const [a, b] = claims as [TickClaims, TickClaims];
    const slot = new Date(T0 + 120 * MINUTE_MS);
    expect(await a.claim("quota-restore", slot)).toBe(true);
    expect(await b.claim("stale-run-check", slot)).toBe(true);
    expect(await b.claim("quota-restore", slot)).toBe(false);
  });

  it("runs an exclusive tick in one process at a time; the others skip it while it runs", async () => {
    const [a, b, c] = claims as [TickClaims, TickClaims, TickClaims];
    const release = gate();
    const entered = gate();
    const calls: string[] = [];
    const held = a.exclusive("outbox-relay", async () => {
      calls.push("a");
      entered.open();
      await release.opened;
      return 7;
    });
    await entered.opened;
    const others = await Promise.all(
      [b, c].map((x) =>
        x.exclusive("outbox-relay", async () => {
          calls.push(x.holder);
          return 0;
        }),
      ),
    );
    expect(others).toEqual([{ ran: false }, { ran: false }]);
    // Another tick's lock is not this one's.
    expect(await b.exclusive("retention", async () => "other")).toEqual({ ran: true, value: "other" });
    release.open();
    expect(await held).toEqual({ ran: true, value: 7 });
    expect(await b.exclusive("outbox-relay", async () => "b")).toEqual({ ran: true, value: "b" });
    expect(calls).toEqual(["a"]);
  });

  it("lets go of the lock when the work throws", async () => {
    const [a, b] = claims as [TickClaims, TickClaims];
    await expect(
      a.exclusive("outbox-relay", async () => {
        throw new Error("relay broke");
      }),
    ).rejects.toThrow("relay broke");
    expect(await b.exclusive("outbox-relay", async () => 1)).toEqual({ ran: true, value: 1 });
  });

  it("lets go of the lock when the holding process's connections die", async () => {
    const dying = await openDatabase({ kind: "postgres", url: test.url, poolSize: 2 });
    const gone = createTickClaims({ database: dying, holder: "gone" });
    const entered = gate();
    const held = gone.exclusive("outbox-relay", async () => {
      entered.open();
      await new Promise(() => {});
    });
    held.catch(() => {});
    await entered.opened;
    expect(await claims[0]!.exclusive("outbox-relay", async () => 1)).toEqual({ ran: false });
    await dying.close();
    await expect(claims[0]!.exclusive("outbox-relay", async () => 1)).resolves.toEqual({
      ran: true,
      value: 1,
    });
  });
});

describe("tick claims on the embedded database", () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ kind: "pglite", dataDir: "memory://" });
    await database.migrate();
  });
  afterAll(async () => {
    await database.close();
  });

  it("claims each slot once and runs exclusive work (the one process needs no lock)", async () => {
    const claims = createTickClaims({ database });
    const slot = new Date(T0);
    expect(await claims.claim("reconcile", slot)).toBe(true);
    expect(await claims.claim("reconcile", slot)).toBe(false);
    expect(await claims.claim("reconcile", new Date(T0 + MINUTE_MS))).toBe(true);
    // The work queries the same database: no lock transaction may hold it meanwhile.
    const counted = await claims.exclusive("outbox-relay", () => database.db.$count(schedulerTicks));
    expect(counted).toEqual({ ran: true, value: 1 });
  });
});
