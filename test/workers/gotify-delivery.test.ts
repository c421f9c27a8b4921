/**
 * Gotify webhooks through the outbox, the relay and a real webhook worker, against a local stand-in
 * for a Gotify server that checks the request as Gotify would: `POST <server>/message`, the
 * application token in `X-Gotify-Key`, a JSON message. The token is sealed and never shown again.
 */
import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { auditLog, webhookDeliveries, webhooks } from "../../src/db/index.js";
import type { EventType } from "../../src/events/index.js";
import { emitEvent } from "../../src/events/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { Received, Reply, StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";
import { startNotifyWorkers } from "../support/workers.js";

const TOKEN = "AhR2v.kd9Q-x3Zf";

/** What a Gotify server checks before it accepts a message. */
function gotify(req: Received): Reply {
  if (req.method !== "POST" || req.path !== "/gotify/message") return { status: 404, body: "{}" };
  if (req.headers["x-gotify-key"] !== TOKEN) return { status: 401, body: '{"error":"Unauthorized"}' };
  if (!String(req.headers["content-type"]).startsWith("application/json")) return { status: 400 };
  const body = JSON.parse(req.body) as Record<string, unknown>;
  const ok =
    typeof body.title === "string" &&
    typeof body.message === "string" &&
    body.message !== "" &&
    Number.isInteger(body.priority);
  return ok
    ? { status: 200, body: `{"id":${req.at | 0}}` }
    : { status: 400, body: '{"error":"Bad Request"}' };
}

describe("Gotify webhooks", () => {
  let t: TestPlatform;
  let workers: WorkerRuntime;
  let server: StandIn;

  beforeAll(async () => {
    t = await createTestPlatform();
    workers = startNotifyWorkers(t.platform, ["webhook"]);
    server = await startStandIn(gotify);
  });
  afterEach(async () => {
    await t.platform.database.db.update(webhooks).set({ enabled: false });
    server.received.length = 0;
  });
  afterAll(async () => {
    await server.close();
    await workers.close(1_000);
    await t.close();
  });

  async function createHook(body: Record<string, unknown>) {
    const res = await t.request("/api/admin/settings/webhooks", { method: "POST", body });
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(201);
    return payload.data as { id: string; secret?: string; webhookUrl: string; type: string };
  }

  async function emit(type: EventType, data: Record<string, unknown>) {
    const { id } = await t.platform.database.db.transaction((tx) => emitEvent(tx, { type, data }));
    await t.platform.services.relay.run();
    return id;
  }

  const deliveryOf = async (eventId: string) =>
    (
      await t.platform.database.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.eventId, eventId))
    )[0]!;

  it("posts the message to <server>/message with the token header, priority from the event's outcome", async () => {
    const hook = await createHook({
      name: "gotify",
      type: "GOTIFY",
      webhookUrl: `${server.url}/gotify/`,
      token: TOKEN,
      events: ["node.quota-exceeded"],
    });
    expect(hook.type).toBe("GOTIFY");
    expect(hook.secret).toBeUndefined();
    const eventId = await emit("node.quota-exceeded", {
      node: { id: "n1", name: "laptop", networkId: "x", ip4: "10.0.0.2", hasServerKey: false },
      network: { id: "x", name: "office" },
      quota: { month: "2026-03", thresholdPercent: 100, usedBytes: 2_000, limitBytes: 2_000 },
      disabled: true,
    });
    await vi.waitFor(async () => expect((await deliveryOf(eventId)).status).toBe("delivered"), {
      timeout: 10_000,
    });
    expect(server.received).toHaveLength(1);
    const req = server.received[0]!;
    const delivery = await deliveryOf(eventId);
    expect(JSON.parse(req.body)).toEqual({
      title: "Node over its quota, disabled: laptop",
      message: expect.stringContaining("quota.usedBytes: 2000"),
      priority: 8,
      extras: {
        "client::display": { contentType: "text/plain" },
        "wiresync::event": { id: eventId, type: "node.quota-exceeded", deliveryId: delivery.id },
      },
    });
    // The token left only in its header: not in the list, the delivery log, the audit log or a log line.
    const list = await (await t.request("/api/admin/settings/webhooks")).text();
    const log = await (await t.request(`/api/admin/settings/webhooks/${hook.id}/deliveries`)).text();
    const audits = JSON.stringify(await t.platform.database.db.select().from(auditLog));
    for (const text of [list, log, audits, t.logs.text, req.body]) expect(text).not.toContain(TOKEN);
  });

  it("fails at once, without retrying, when Gotify refuses the token", async () => {
    const hook = await createHook({
      name: "gotify-wrong-token",
      type: "GOTIFY",
      webhookUrl: `${server.url}/gotify`,
      token: "not-the-token",
      events: ["sync.completed"],
    });
    const eventId = await emit("sync.completed", { run: { id: "r1", type: "full" } });
    await vi.waitFor(async () => expect((await deliveryOf(eventId)).status).toBe("failed"), {
      timeout: 10_000,
    });
    expect(server.received).toHaveLength(1);
    expect((await deliveryOf(eventId)).lastStatusCode).toBe(401);
    // A new token through the update: the test button then gets through.
    const updated = await t.request("/api/admin/settings/webhooks", {
      method: "PUT",
      body: { id: hook.id, token: TOKEN, enabled: true },
    });
    expect(updated.status).toBe(200);
    expect(await updated.text()).not.toContain(TOKEN);
    const tested = await t.request("/api/admin/settings/webhooks", {
      method: "PATCH",
      body: { id: hook.id },
    });
    expect((await json(tested)).data).toMatchObject({ ok: true, statusCode: 200 });
    expect(JSON.parse(server.received.at(-1)!.body).title).toBe("Test event from wiresync");
  });

  it.each([
    [{ type: "GOTIFY" }, "a GOTIFY webhook needs its application token"],
    [{ type: "GENERIC", token: TOKEN }, "only a GOTIFY webhook takes a token"],
    [{ type: "GOTIFY", token: "has space" }, "must be printable ASCII without spaces"],
  ])("refuses %j with 400, creating nothing", async (extra, message) => {
    const before = await t.platform.database.db.select().from(webhooks);
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "bad", webhookUrl: `${server.url}/gotify`, events: ["*"], ...extra },
    });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(JSON.stringify(body)).toContain(message);
    expect(await t.platform.database.db.select().from(webhooks)).toHaveLength(before.length);
  });

  it("refuses a secret rotation or a switch to GOTIFY without a token, changing nothing", async () => {
    const gotifyHook = await createHook({
      name: "g-rotate",
      type: "GOTIFY",
      webhookUrl: `${server.url}/gotify`,
      token: TOKEN,
      events: ["*"],
    });
    const generic = await createHook({
      name: "gen",
      type: "GENERIC",
      webhookUrl: `${server.url}/x`,
      events: ["*"],
    });
    for (const body of [
      { id: gotifyHook.id, rotateSecret: true },
      { id: generic.id, type: "GOTIFY" },
      { id: generic.id, token: TOKEN },
    ]) {
      const res = await t.request("/api/admin/settings/webhooks", { method: "PUT", body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const [row] = await t.platform.database.db.select().from(webhooks).where(eq(webhooks.id, generic.id));
    expect(row!.type).toBe("GENERIC");
    // Leaving GOTIFY for a signed type issues a fresh signing secret, shown once.
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "PUT",
      body: { id: gotifyHook.id, type: "GENERIC" },
    });
    expect(res.status).toBe(200);
    expect((await json(res)).data.secret).toMatch(/^whsec_/);
  });
});
