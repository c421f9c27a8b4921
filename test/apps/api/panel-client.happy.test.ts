/**
 * The calls an admin panel of a job-queue sync backend makes, exactly as it makes them: each answers
 * 2xx with the result its route documents (the body parses with the route's own response schema),
 * and the database holds what the answer says.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import { route as adminSyncRoute } from "../../../apps/api/routes/sync/request-admin-sync.js";
import { route as fullSyncRoute } from "../../../apps/api/routes/sync/request-full-sync.js";
import { route as createWebhookRoute } from "../../../apps/api/routes/webhooks/create-webhook.js";
import { route as dispatchRoute } from "../../../apps/api/routes/webhooks/dispatch-webhook-event.js";
import { events, syncRuns } from "../../../src/db/index.js";
import { json } from "../../support/http.js";
import { insertNetworks } from "../../support/networks.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { StandIn } from "../../support/stand-ins.js";
import { startStandIn } from "../../support/stand-ins.js";

/** The JSON schema a route documents for `status`. */
function documented(route: { responses: Record<number, unknown> }, status: number): ZodType {
  const response = route.responses[status] as { content: { "application/json": { schema: ZodType } } };
  return response.content["application/json"].schema;
}

describe("a sync backend's admin panel", () => {
  let t: TestPlatform;
  let receiver: StandIn;
  let networkId: string;

  beforeAll(async () => {
    // discord.com resolves to a public documentation address: no test touches the network.
    t = await createTestPlatform({ webhookResolver: async () => [{ address: "203.0.113.9", family: 4 }] });
    [networkId] = (await insertNetworks(t.platform.database.db, 1, "panel")) as [string];
    receiver = await startStandIn();
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  const runRow = async (id: string) =>
    (await t.platform.database.db.select().from(syncRuns).where(eq(syncRuns.id, id)))[0];

  it("POST /api/v1/sync/full { skip_users, requested_by }: 202, the run recorded, skip_users named as ignored", async () => {
    const res = await t.request("/api/v1/sync/full", {
      method: "POST",
      body: { skip_users: false, requested_by: "panel:alice" },
    });
    expect(res.status).toBe(202);
    const body = documented(fullSyncRoute, 202).parse(await json(res)) as {
      data: { sync_log_id: string };
      message: string;
    };
    expect(body.message).toBe(
      `full sync queued; follow it at /api/v1/sync/status/${body.data.sync_log_id}; skip_users ignored: wiresync has no users to sync`,
    );
    expect(await runRow(body.data.sync_log_id)).toMatchObject({
      type: "full",
      status: "PENDING",
      requestedBy: "panel:alice",
      options: {},
    });
  });

  it("POST /api/admin/sync { type: full }: 202, a full run", async () => {
    const res = await t.request("/api/admin/sync", { method: "POST", body: { type: "full" } });
    expect(res.status).toBe(202);
    const body = documented(adminSyncRoute, 202).parse(await json(res)) as {
      data: { sync_log_id: string };
      message: string;
    };
    expect(body.message).toBe(`full sync queued; follow it at /api/v1/sync/status/${body.data.sync_log_id}`);
    expect(await runRow(body.data.sync_log_id)).toMatchObject({
      type: "full",
      requestedBy: "api-key:bootstrap",
      options: {},
    });
  });

  it("POST /api/admin/sync { type: peers, network_id, skip_usage }: a peers run of that network, skip_usage named as ignored", async () => {
    const res = await t.request("/api/admin/sync", {
      method: "POST",
      body: { type: "peers", network_id: networkId, skip_usage: true },
    });
    expect(res.status).toBe(202);
    const body = (await json(res)) as { data: { sync_log_id: string }; message: string };
    expect(body.message).toMatch(/; skip_usage ignored: it applies to full syncs, not peers$/);
    expect(await runRow(body.data.sync_log_id)).toMatchObject({ type: "peers", options: { networkId } });
  });

  it("POST /api/admin/sync with an unknown type: 400 naming the types, and no run", async () => {
    const before = (await t.platform.database.db.select().from(syncRuns)).length;
    const res = await t.request("/api/admin/sync", { method: "POST", body: { type: "users" } });
    expect(res.status).toBe(400);
    expect((await json(res)).detail).toMatch(/^type: .*full.*peers.*configs.*usage/);
    expect((await t.platform.database.db.select().from(syncRuns)).length).toBe(before);
  });

  it("POST /api/admin/settings/webhooks in the panel's form with a Discord URL: 201, a DISCORD webhook for every event", async () => {
    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: {
        name: "ops-discord",
        webhookUrl: "https://discord.com/api/webhooks/123/t0ken",
        type: "SYSTEM",
        scope: "ADMIN",
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { data } = documented(createWebhookRoute, 201).parse(await json(res)) as { data: unknown };
    expect(data).toMatchObject({
      name: "ops-discord",
      type: "DISCORD",
      scope: "global",
      events: ["*"],
      enabled: true,
      webhookUrl: "https://discord.com/api/webhooks/123/****",
    });
  });

  it("webhook/dispatch of sync.completed to a chosen webhook: 200, the receiver gets it marked as a test, and nothing says it happened", async () => {
    const created = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "ops-generic", webhookUrl: `${receiver.url}/hook`, type: "SYSTEM", scope: "ADMIN" },
    });
    expect(created.status).toBe(201);
    const hook = (await json(created)).data as { id: string; type: string };
    expect(hook.type).toBe("GENERIC");

    const res = await t.request("/api/v1/webhook/dispatch", {
      method: "POST",
      body: { event: "sync.completed", webhookId: hook.id, data: { run: { type: "full" } } },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { data } = documented(dispatchRoute, 200).parse(await json(res)) as { data: unknown };
    expect(data).toMatchObject({
      ok: true,
      statusCode: 204,
      test: true,
      event: "sync.completed",
      webhookId: hook.id,
    });

    expect(receiver.received).toHaveLength(1);
    const sent = JSON.parse(receiver.received[0]!.body);
    expect(sent).toMatchObject({ type: "sync.completed", data: { run: { type: "full" }, test: true } });
    expect(receiver.received[0]!.headers["x-wiresync-event"]).toBe("sync.completed");

    const log = await json(await t.request(`/api/admin/settings/webhooks/${hook.id}/deliveries`));
    expect(log.data.items).toHaveLength(1);
    expect(log.data.items[0]).toMatchObject({ eventType: "webhook.test", status: "delivered" });
    const recorded = await t.platform.database.db
      .select()
      .from(events)
      .where(eq(events.type, "sync.completed"));
    expect(recorded).toHaveLength(0);
  });

  it("webhook/dispatch of a built-in event without a webhook: 400 saying how to send a test", async () => {
    const res = await t.request("/api/v1/webhook/dispatch", {
      method: "POST",
      body: { event: "sync.completed", data: {} },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).detail).toBe(
      "event: sync.completed is a wiresync event, which only wiresync emits; to send a test of it, name the webhook in webhookId",
    );
  });

  it("GET /redoc renders the same OpenAPI document from a bundle served here (no CDN)", async () => {
    const page = await t.request("/redoc", { key: null });
    expect(page.status).toBe(200);
    // Redoc's own "by Redocly" logo would come from its CDN: the page's policy keeps it out.
    expect(page.headers.get("content-security-policy")).toMatch(/(^|; )img-src 'self' data:(;|$)/);
    const html = await page.text();
    expect(html).toContain('<redoc spec-url="/openapi.json"></redoc>');
    const scripts = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(["/redoc/redoc.standalone.js"]);
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await t.request("/redoc/redoc.standalone.js", { key: null });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toMatch(/javascript/);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
  });
});
