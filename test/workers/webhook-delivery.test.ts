import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { events, webhookDeliveries, webhooks } from "../../src/db/index.js";
import type { EventType } from "../../src/events/index.js";
import { emitEvent } from "../../src/events/index.js";
import {
  buildDiscordPayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from "../../src/notify/index.js";
import { jobIds } from "../../src/queue/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";
import { startNotifyWorkers } from "../support/workers.js";

const MAX_FAILURES = 3;

describe("webhook deliveries through the relay and a real worker", () => {
  let t: TestPlatform;
  let workers: WorkerRuntime;
  const standIns: StandIn[] = [];

  beforeAll(async () => {
    t = await createTestPlatform({ notify: { webhooks: { maxFailures: MAX_FAILURES } } });
    workers = startNotifyWorkers(t.platform);
  });
  afterEach(async () => {
    // Each test owns its webhooks; disable the previous ones so they do not receive later events.
    await t.platform.database.db.update(webhooks).set({ enabled: false });
    await Promise.all(standIns.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await workers.close(1_000);
    await t.close();
  });

  async function receiver(handler?: Parameters<typeof startStandIn>[0]) {
    const s = await startStandIn(handler);
    standIns.push(s);
    return s;
  }

  async function createHook(body: Record<string, unknown>) {
    const res = await t.request("/api/admin/settings/webhooks", { method: "POST", body });
    expect(res.status).toBe(201);
    return (await json(res)).data as { id: string; secret: string; webhookUrl: string };
  }

  async function emit(type: EventType, data: Record<string, unknown>) {
    const { id } = await t.platform.database.db.transaction((tx) => emitEvent(tx, { type, data }));
    await t.platform.services.relay.run();
    return id;
  }

  async function deliveryOf(webhookId: string, eventId: string) {
    const [row] = await t.platform.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.eventId, eventId));
    expect(row?.webhookId).toBe(webhookId);
    return row!;
  }

  it("sends a Discord embed exactly as the payload builder makes it", async () => {
    const s = await receiver();
    const hook = await createHook({
      name: "discord",
      type: "DISCORD",
      webhookUrl: `${s.url}/api/webhooks/123/tok3n`,
      events: ["sync.failed"],
    });
    expect(hook.webhookUrl).toBe(`${s.url}/api/webhooks/123/****`);
    const data = { run: { id: "r1", type: "full", status: "FAILED", error: "boom" } };
    const eventId = await emit("sync.failed", data);
    await vi.waitFor(() => expect(s.received).toHaveLength(1), { timeout: 5_000 });
    const [row] = await t.platform.database.db.select().from(events).where(eq(events.id, eventId));
    expect(JSON.parse(s.received[0]!.body)).toEqual(buildDiscordPayload(row!));
    expect(s.received[0]!.path).toBe("/api/webhooks/123/tok3n");
    expect(s.received[0]!.headers["content-type"]).toBe("application/json");
    await vi.waitFor(async () => expect((await deliveryOf(hook.id, eventId)).status).toBe("delivered"));
  });

  it("signs generic deliveries so the receiver can verify them with the secret shown once", async () => {
    const s = await receiver(() => ({ status: 200, body: '{"ok":true}' }));
    const hook = await createHook({
      name: "generic",
      type: "GENERIC",
      webhookUrl: `${s.url}/hook`,
      events: ["node.enrolled"],
    });
    expect(hook.secret).toMatch(/^whsec_/);
    const eventId = await emit("node.enrolled", { node: { id: "n1", name: "laptop", privateKey: "SECRET" } });
    await vi.waitFor(() => expect(s.received).toHaveLength(1), { timeout: 5_000 });
    const req = s.received[0]!;
    const delivery = await deliveryOf(hook.id, eventId);
    const body = JSON.parse(req.body);
    expect(body).toEqual({
      id: eventId,
      type: "node.enrolled",
      created_at: expect.any(String),
      delivery_id: delivery.id,
      data: { node: { id: "n1", name: "laptop" } },
    });
    const input = {
      timestamp: String(req.headers[TIMESTAMP_HEADER.toLowerCase()]),
      signature: String(req.headers[SIGNATURE_HEADER.toLowerCase()]),
      body: req.body,
    };
    expect(verifySignature(hook.secret, input, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifySignature("whsec_wrong", input, Math.floor(Date.now() / 1000))).toBe(false);
    expect(req.headers["x-wiresync-delivery"]).toBe(delivery.id);
    // The secret never appears again: not in the list, not in the delivery log, not in a log line.
    const list = await (await t.request("/api/admin/settings/webhooks")).text();
    expect(list).not.toContain(hook.secret);
    expect(t.logs.text).not.toContain(hook.secret);
    expect(req.body).not.toContain("SECRET");
  });

  it("retries a 500 and delivers once when the receiver recovers", async () => {
    const s = await receiver((_req, i) => (i === 0 ? { status: 500, body: "oops" } : { status: 200 }));
    const hook = await createHook({
      name: "flaky",
      type: "GENERIC",
      webhookUrl: `${s.url}/x`,
      events: ["*"],
    });
    const eventId = await emit("sync.completed", { run: { id: "r2", type: "full" } });
    await vi.waitFor(async () => expect((await deliveryOf(hook.id, eventId)).status).toBe("delivered"), {
      timeout: 5_000,
    });
    expect(s.received).toHaveLength(2);
    const res = await t.request(`/api/admin/settings/webhooks/${hook.id}/deliveries`);
    const [delivery] = (await json(res)).data.items;
    expect(delivery.attempts).toBe(2);
    expect(delivery.history.map((h: { statusCode: number }) => h.statusCode)).toEqual([500, 200]);
    expect(delivery.history.map((h: { outcome: string }) => h.outcome)).toEqual(["retry", "delivered"]);
    const [w] = await t.platform.database.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(w!.consecutiveFailures).toBe(0);
  });

  it("waits at least retry_after after a 429", async () => {
    const s = await receiver((_req, i) =>
      i === 0
        ? {
            status: 429,
            body: JSON.stringify({ message: "You are being rate limited.", retry_after: 1.5, global: false }),
          }
        : { status: 204 },
    );
    const hook = await createHook({
      name: "limited",
      type: "DISCORD",
      webhookUrl: `${s.url}/x`,
      events: ["*"],
    });
    const eventId = await emit("node.online", { node: { id: "n2", name: "edge" } });
    await vi.waitFor(async () => expect((await deliveryOf(hook.id, eventId)).status).toBe("delivered"), {
      timeout: 6_000,
    });
    expect(s.received).toHaveLength(2);
    expect(s.received[1]!.at - s.received[0]!.at).toBeGreaterThanOrEqual(1_500);
    const [w] = await t.platform.database.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(w!.consecutiveFailures).toBe(0);
  });

  it("does not retry a 404: the webhook is disabled and webhook.disabled is emitted", async () => {
    const s = await receiver(() => ({ status: 404, body: '{"message":"Unknown Webhook","code":10015}' }));
    const hook = await createHook({ name: "gone", type: "DISCORD", webhookUrl: `${s.url}/x`, events: ["*"] });
    const eventId = await emit("node.removed", { node: { id: "n3", name: "old" } });
    await vi.waitFor(async () => expect((await deliveryOf(hook.id, eventId)).status).toBe("failed"), {
      timeout: 5_000,
    });
    const [w] = await t.platform.database.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(w!.enabled).toBe(false);
    expect(w!.disabledReason).toMatch(/404/);
    const disabled = await t.platform.database.db
      .select()
      .from(events)
      .where(eq(events.type, "webhook.disabled"));
    expect(disabled.map((e) => (e.data.webhook as { id: string }).id)).toContain(hook.id);
    // No second attempt: the job completed and the delivery is settled.
    await t.platform.services.relay.run();
    expect(s.received).toHaveLength(1);
    const state = await t.platform.queue.state(
      "webhook",
      `delivery-${(await deliveryOf(hook.id, eventId)).id}`,
    );
    expect(state).toBe("completed");

    // Re-enabled and replayed, the failed delivery goes out again.
    s.reply(() => ({ status: 204 }));
    const put = await t.request("/api/admin/settings/webhooks", {
      method: "PUT",
      body: { id: hook.id, enabled: true },
    });
    expect((await json(put)).data).toMatchObject({
      enabled: true,
      disabledReason: null,
      consecutiveFailures: 0,
    });
    const delivery = await deliveryOf(hook.id, eventId);
    const replay = await t.request(
      `/api/admin/settings/webhooks/${hook.id}/deliveries/${delivery.id}/replay`,
      {
        method: "POST",
      },
    );
    expect(replay.status).toBe(202);
    await vi.waitFor(async () => expect((await deliveryOf(hook.id, eventId)).status).toBe("delivered"), {
      timeout: 5_000,
    });
    expect(s.received).toHaveLength(2);
  });

  it(`disables a webhook after ${MAX_FAILURES} consecutive failures and cancels what is left`, async () => {
    const s = await receiver(() => ({ status: 503 }));
    const hook = await createHook({ name: "down", type: "GENERIC", webhookUrl: `${s.url}/x`, events: ["*"] });
    const first = await emit("drift.detected", { network: { id: "x", name: "lab" } });
    await vi.waitFor(
      async () => {
        const [w] = await t.platform.database.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
        expect(w!.enabled).toBe(false);
      },
      { timeout: 5_000 },
    );
    expect(s.received).toHaveLength(MAX_FAILURES);
    await vi.waitFor(async () => expect((await deliveryOf(hook.id, first)).status).toBe("cancelled"), {
      timeout: 5_000,
    });
    const disabled = await t.platform.database.db
      .select()
      .from(events)
      .where(eq(events.type, "webhook.disabled"));
    const mine = disabled.filter((e) => (e.data.webhook as { id: string }).id === hook.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.data.reason).toMatch(/3 consecutive failed attempts/);
  });

  it("PATCH sends a test event and returns the receiver's answer", async () => {
    const s = await receiver(() => ({ status: 200, body: '{"hello":"from the receiver"}' }));
    const hook = await createHook({
      name: "tested",
      type: "DISCORD",
      webhookUrl: `${s.url}/x`,
      events: ["sync.failed"],
    });
    const res = await t.request("/api/admin/settings/webhooks", { method: "PATCH", body: { id: hook.id } });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toMatchObject({
      ok: true,
      statusCode: 200,
      body: '{"hello":"from the receiver"}',
      error: null,
    });
    expect(JSON.parse(s.received[0]!.body).embeds[0].title).toBe("Test event from wiresync");
    const log = await json(await t.request(`/api/admin/settings/webhooks/${hook.id}/deliveries`));
    expect(log.data.items[0]).toMatchObject({ eventType: "webhook.test", status: "delivered", attempts: 0 });
    expect(log.data.items[0].history).toHaveLength(1);
  });

  it("sends a test event once, even when the outbox sweep runs while the receiver is slow", async () => {
    let answer = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const s = await receiver(() => ({ status: 204, hold: answered }));
    const hook = await createHook({
      name: "slow",
      type: "DISCORD",
      webhookUrl: `${s.url}/x`,
      events: ["sync.failed"],
    });
    const testing = t.request("/api/admin/settings/webhooks", { method: "PATCH", body: { id: hook.id } });
    await vi.waitFor(() => expect(s.received).toHaveLength(1), { timeout: 5_000 });
    const [delivery] = await t.platform.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, hook.id));
    // The delivery is pending until the answer comes: the sweep (no grace here) queues it again,
    // and the worker must find it leased to the test and put its job off until the lease ends.
    await t.platform.services.relay.run();
    await vi.waitFor(
      async () =>
        expect(await t.platform.queue.state("webhook", jobIds.webhook(delivery!.id))).toBe("delayed"),
      { timeout: 5_000 },
    );
    answer();
    const res = await testing;
    expect((await json(res)).data).toMatchObject({ ok: true, statusCode: 204 });
    expect(s.received).toHaveLength(1);
  });

  it("dispatches a custom event to every webhook subscribed to it, and to no other", async () => {
    await t.platform.services.relay.run(); // earlier tests' events (webhook.disabled) go nowhere new
    const a = await receiver();
    const b = await receiver();
    const c = await receiver();
    await createHook({ name: "a", type: "GENERIC", webhookUrl: `${a.url}/a`, events: ["deploy.finished"] });
    await createHook({ name: "b", type: "DISCORD", webhookUrl: `${b.url}/b`, events: ["*"] });
    await createHook({ name: "c", type: "GENERIC", webhookUrl: `${c.url}/c`, events: ["sync.failed"] });
    const res = await t.request("/api/v1/webhook/dispatch", {
      method: "POST",
      body: { event: "deploy.finished", data: { version: "1.2", message: "v1.2 is live", token: "t0k" } },
    });
    expect(res.status).toBe(202);
    expect((await json(res)).data.webhooks).toBe(2);
    await t.platform.services.relay.run();
    await vi.waitFor(() => {
      expect(a.received).toHaveLength(1);
      expect(b.received).toHaveLength(1);
    });
    expect(c.received).toHaveLength(0);
    expect(JSON.parse(a.received[0]!.body).data).toEqual({ version: "1.2", message: "v1.2 is live" });
    expect(JSON.parse(b.received[0]!.body).embeds[0].description).toBe("v1.2 is live");
  });
});
