import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, networks } from "../../../src/db/index.js";
import { emitEvent } from "../../../src/events/index.js";
import type { TaskHandlers } from "../../../src/sync/index.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

describe("the outbox", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const typesOf = async (runId: string) =>
    (await t.platform.database.db.select().from(events).orderBy(asc(events.createdAt)))
      .filter((e) => (e.data.run as { id?: string } | undefined)?.id === runId)
      .map((e) => e.type);

  it("keeps an event only when its transaction commits", async () => {
    const { db } = t.platform.database;
    await expect(
      db.transaction(async (tx) => {
        await emitEvent(tx, { type: "node.updated", data: { node: { id: "rolled-back" } } });
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    const committed = await db.transaction((tx) =>
      emitEvent(tx, { type: "node.updated", data: { node: { id: "kept" } } }),
    );
    const rows = await db.select().from(events).where(eq(events.type, "node.updated"));
    expect(rows.map((r) => r.id)).toEqual([committed.id]);
    expect(rows[0]!.relayedAt).toBeNull();
  });

  it("emits sync.started and sync.completed around a successful run", async () => {
    const ok: TaskHandlers = {
      peers: async () => ({ ok: true, note: "ok" }),
      configs: async () => ({ ok: true, note: "ok" }),
      usage: async () => ({ ok: true, note: "ok" }),
    };
    const { run } = await t.platform.services.sync.requestRun({ type: "full" });
    await t.platform.services.sync.executeRun(run.id, ok);
    expect(await typesOf(run.id)).toEqual(["sync.started", "sync.completed"]);
  });

  it("emits sync.failed when a task fails, with the run's error and no options", async () => {
    await t.platform.database.db.insert(networks).values({
      name: "lab",
      cidr4: "10.77.0.0/24",
      hubPublicKey: "x",
      hubPrivateKeyEnc: "v1.x",
      hubIp4: "10.77.0.1",
    });
    const failing: TaskHandlers = {
      peers: async () => ({ ok: false, note: "interface is down" }),
      configs: async () => ({ ok: true, note: "ok" }),
      usage: async () => ({ ok: true, note: "ok" }),
    };
    const { run } = await t.platform.services.sync.requestRun({ type: "peers" });
    await t.platform.services.sync.executeRun(run.id, failing);
    expect(await typesOf(run.id)).toEqual(["sync.started", "sync.failed"]);
    const [failed] = await t.platform.database.db.select().from(events).where(eq(events.type, "sync.failed"));
    expect((failed!.data.run as { error: string }).error).toMatch(/interface is down/);
  });

  it("emits sync.failed when a run runs out of attempts", async () => {
    const { run } = await t.platform.services.sync.requestRun({ type: "usage" });
    await t.platform.services.sync.failRun(run.id, "failed after 3 attempts: db down");
    expect(await typesOf(run.id)).toEqual(["sync.failed"]);
  });
});
