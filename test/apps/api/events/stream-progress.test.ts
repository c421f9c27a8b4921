/**
 * The stream-only events: a sync run's progress at its checkpoints and each failed webhook delivery
 * reach the admin room live, and never reach a webhook (a failing webhook hearing of its own
 * failures would never stop).
 */
import { eq, inArray } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import { events, webhookDeliveries, webhooks } from "../../../../src/db/index.js";
import type { TaskHandler } from "../../../../src/sync/index.js";
import type { StreamClient } from "../../../support/event-stream.js";
import { openSse } from "../../../support/event-stream.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import type { StandIn } from "../../../support/stand-ins.js";
import { startStandIn } from "../../../support/stand-ins.js";

describe("stream-only events", () => {
  let t: TestPlatform;
  let server: RunningServer;
  const clients: StreamClient[] = [];
  const standIns: StandIn[] = [];
  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
  });
  afterEach(async () => {
    await t.platform.database.db.update(webhooks).set({ enabled: false });
    await Promise.all(standIns.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close(1_000);
    await t?.close();
  });

  async function adminStream() {
    const client = await openSse(`http://127.0.0.1:${server.port}/api/v1/events?rooms=admin`, {
      "X-API-Key": t.adminKey,
    });
    clients.push(client);
    await client.waitFor((m) => m.length === 1, "hello");
    return client;
  }

  let hooks = 0;
  async function catchAllHook(url: string) {
    hooks++;
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: `all-${hooks}`, type: "GENERIC", webhookUrl: url, events: ["*"] },
    });
    expect(res.status).toBe(201);
    return (await json(res)).data as { id: string };
  }

  const deliveriesOf = async (eventIds: string[]) =>
    eventIds.length === 0
      ? []
      : t.platform.database.db
          .select()
          .from(webhookDeliveries)
          .where(inArray(webhookDeliveries.eventId, eventIds));

  it("streams a sync run's progress at each checkpoint, between sync.started and sync.completed", async () => {
    const receiver = await startStandIn();
    standIns.push(receiver);
    await catchAllHook(`${receiver.url}/all`);
    for (let i = 0; i < 3; i++) await createNetwork(t);
    const stream = await adminStream();
    const { sync } = t.platform.services;
    const { run } = await sync.requestRun({ type: "peers", requestedBy: "test" });
    // Each task is work of 300 ms, longer than the 250 ms between checkpoints: one checkpoint each.
    const slow: TaskHandler = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { ok: true, note: "done" };
    };
    await sync.executeRun(run.id, { peers: slow, configs: slow, usage: slow });
    await stream.waitFor((m) => m.some((e) => e.event === "sync.completed"), "sync.completed");
    const ofRun = stream
      .events()
      .filter((e) => (e.data.data as { run?: { id: string } }).run?.id === run.id)
      .map((e) => {
        const r = (e.data.data as { run: { status: string; itemsSynced: number; itemsTotal: number } }).run;
        return [e.event, r.status, r.itemsSynced, r.itemsTotal];
      });
    expect(ofRun).toEqual([
      ["sync.started", "RUNNING", 0, 0],
      ["sync.progress", "RUNNING", 1, 3],
      ["sync.progress", "RUNNING", 2, 3],
      ["sync.progress", "RUNNING", 3, 3],
      ["sync.completed", "COMPLETED", 3, 3],
    ]);
    await t.platform.services.relay.run();
    const progressIds = (
      await t.platform.database.db
        .select({ id: events.id })
        .from(events)
        .where(eq(events.type, "sync.progress"))
    ).map((e) => e.id);
    expect(progressIds).toHaveLength(3);
    expect(await deliveriesOf(progressIds)).toEqual([]);
    const completed = stream.events().find((e) => e.event === "sync.completed")!;
    expect(await deliveriesOf([String(completed.data.eventId)])).toHaveLength(1);
  });

  it("streams each failed webhook delivery to the admin room, and relays it to no webhook", async () => {
    const failing = await startStandIn(() => ({ status: 500, body: '{"error":"down"}' }));
    standIns.push(failing);
    const hook = await catchAllHook(`${failing.url}/hook/s3cr3t-path`);
    const stream = await adminStream();
    const net = await createNetwork(t);
    await createNode(t, net.id, { name: "trigger" });
    // Relayed once the stream has it: the hub numbers an event under a row lock, and the relay skips
    // locked rows (they are relayed on its next run), so relaying earlier could find nothing yet.
    await stream.waitFor((m) => m.some((e) => e.event === "node.enrolled"), "node.enrolled");
    await t.platform.services.relay.run();
    const [delivery] = await t.platform.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, hook.id));
    expect(await t.platform.services.webhooks.deliver(delivery!.id)).toMatchObject({ status: "retry" });
    await stream.waitFor((m) => m.some((e) => e.event === "delivery.failed"), "delivery.failed");
    const failed = stream.events().find((e) => e.event === "delivery.failed")!;
    expect(failed.data.data).toEqual({
      webhook: { id: hook.id, name: expect.any(String), type: "GENERIC" },
      delivery: {
        id: delivery!.id,
        eventType: "node.enrolled",
        attempt: 1,
        statusCode: 500,
        error: expect.stringContaining("500"),
        willRetry: true,
      },
    });
    expect(JSON.stringify(failed)).not.toContain("s3cr3t-path");
    await t.platform.services.relay.run();
    expect(await deliveriesOf([String(failed.data.eventId)])).toEqual([]);
    const all = await t.platform.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, hook.id));
    expect(all).toHaveLength(1);
  });
});
