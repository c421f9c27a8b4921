/**
 * The mesh wired to the outbox, end to end: API → node.* event in the change's transaction → the
 * scheduler's relay (woken by the commit's NOTIFY) → real BullMQ workers → the Discord and Resend
 * stand-ins.
 */
import { randomUUID } from "node:crypto";
import { eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { emails, events, nodes, webhookDeliveries } from "../../src/db/index.js";
import { generateKeyPair } from "../../src/mesh/index.js";
import { buildDiscordPayload, QR_CONTENT_ID } from "../../src/notify/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import type { Scheduler } from "../../workers/scheduler.js";
import { startScheduler } from "../../workers/scheduler.js";
import { json } from "../support/http.js";
import { createNetwork, createNode, heartbeat } from "../support/mesh.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { ResendStandIn, StandIn } from "../support/stand-ins.js";
import { startResendStandIn, startStandIn } from "../support/stand-ins.js";
import { startNotifyWorkers } from "../support/workers.js";

const RESEND_KEY = `re_test_${randomUUID().replaceAll("-", "")}`;
const ONCALL = "oncall@example.com";
const MINUTE_MS = 60_000;
const WAIT = { timeout: 10_000, interval: 25 };

interface SentEmail {
  to: string | string[];
  subject: string;
  html: string;
  text: string;
  attachments?: { filename: string; content: string; content_id?: string }[];
}

describe("node events reach Discord and email", () => {
  let t: TestPlatform;
  let discord: StandIn;
  let resend: ResendStandIn;
  let workers: WorkerRuntime;
  let scheduler: Scheduler;
  let net: { id: string; name: string };
  let hookId: string;

  beforeAll(async () => {
    discord = await startStandIn();
    resend = await startResendStandIn(RESEND_KEY);
    t = await createTestPlatform({
      notify: {
        email: {
          resendApiKey: RESEND_KEY,
          resendBaseUrl: resend.url,
          from: "wiresync <ops@example.com>",
          alertRecipients: [ONCALL],
        },
      },
    });
    workers = startNotifyWorkers(t.platform);
    scheduler = startScheduler({
      sync: t.platform.services.sync,
      liveness: t.platform.services.liveness,
      settings: t.platform.services.settings,
      logger: t.platform.logger,
      staleRunCheckCron: "0 0 1 1 *",
      nodeOfflineAfterSeconds: 180,
      timers: false,
      relay: {
        relay: t.platform.services.relay,
        intervalMs: 250,
        listen: (channel, onNotify) => t.platform.database.listen(channel, onNotify),
      },
    });
    net = await createNetwork(t, { name: "office", endpoint: "vpn.example.com:51820" });
  });
  afterAll(async () => {
    await scheduler.stop();
    await workers.close(1_000);
    await t.close();
    await discord.close();
    await resend.close();
  });

  const embeds = () =>
    discord.received.map((r) => (JSON.parse(r.body) as { embeds: { title: string }[] }).embeds[0]!);
  const titled = (title: string) => embeds().filter((e) => e.title === title);
  const sentTo = (to: string) =>
    [...resend.accepted.values()].map((a) => a.body as unknown as SentEmail).filter((b) => b.to === to);

  /** Relays once more and waits until no delivery or email is left to send: later counts are final. */
  async function settled() {
    await scheduler.kickRelay();
    const db = t.platform.database.db;
    await vi.waitFor(async () => {
      const unrelayed = await db.$count(events, isNull(events.relayedAt));
      const pending = await db.$count(webhookDeliveries, eq(webhookDeliveries.status, "pending"));
      const queued = await db.$count(emails, eq(emails.status, "queued"));
      expect({ unrelayed, pending, queued }).toEqual({ unrelayed: 0, pending: 0, queued: 0 });
    }, WAIT);
  }

  it("an operator adds a Discord webhook, presses test, enrolls a node and sees its embed once", async () => {
    const created = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: {
        name: "ops",
        type: "DISCORD",
        webhookUrl: `${discord.url}/api/webhooks/42/t0ken`,
        events: ["node.enrolled"],
      },
    });
    expect(created.status).toBe(201);
    hookId = (await json(created)).data.id;

    const tested = await json(
      await t.request("/api/admin/settings/webhooks", { method: "PATCH", body: { id: hookId } }),
    );
    expect(tested.data).toMatchObject({ ok: true, statusCode: 204 });
    expect(titled("Test event from wiresync")).toHaveLength(1);

    const node = await createNode(t, net.id, { name: "edge-1" });
    await vi.waitFor(() => expect(titled("Node enrolled: edge-1")).toHaveLength(1), WAIT);
    const request = discord.received.find((r) => r.body.includes("Node enrolled: edge-1"))!;
    expect(request.path).toBe("/api/webhooks/42/t0ken");
    const [event] = await t.platform.database.db
      .select()
      .from(events)
      .where(eq(events.type, "node.enrolled"));
    expect(event!.data).toMatchObject({
      node: { id: node.node.id, name: "edge-1" },
      network: { name: "office" },
    });
    expect(JSON.parse(request.body)).toEqual(buildDiscordPayload(event!));
    expect(JSON.parse(request.body).embeds[0].fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "node.name", value: "edge-1" })]),
    );

    await settled();
    expect(titled("Node enrolled: edge-1")).toHaveLength(1);
  });

  it("tells the webhook when a node comes online, goes offline and is removed by email", async () => {
    const updated = await t.request("/api/admin/settings/webhooks", {
      method: "PUT",
      body: { id: hookId, events: ["node.enrolled", "node.online", "node.offline", "node.removed"] },
    });
    expect(updated.status).toBe(200);

    const node = await createNode(t, net.id, { name: "roamer", email: "owner@example.com" });
    const id: string = node.node.id;
    await heartbeat(t, id, node.token);
    await vi.waitFor(() => expect(titled("Node online: roamer")).toHaveLength(1), WAIT);

    // The node falls silent; the liveness check marks it offline and tells everyone who should know.
    await t.platform.database.db
      .update(nodes)
      .set({ lastSeenAt: new Date(Date.now() - 10 * MINUTE_MS) })
      .where(eq(nodes.id, id));
    await scheduler.checkNodeLiveness();
    await vi.waitFor(() => expect(titled("Node offline: roamer")).toHaveLength(1), WAIT);
    await vi.waitFor(() => {
      for (const to of ["owner@example.com", ONCALL]) {
        expect(sentTo(to).filter((m) => m.subject === "wiresync: node roamer is offline")).toHaveLength(1);
      }
    }, WAIT);

    const deleted = await json(
      await t.request("/api/v1/nodes?email=owner@example.com&keep_usage_history=false", { method: "DELETE" }),
    );
    expect(deleted.data.deleted).toBe(1);
    await vi.waitFor(() => expect(titled("Node removed: roamer")).toHaveLength(1), WAIT);
    const removed = JSON.parse(discord.received.find((r) => r.body.includes("Node removed: roamer"))!.body);
    expect(removed.embeds[0].fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "keepUsageHistory", value: "false" })]),
    );

    await settled();
    for (const title of ["online", "offline", "removed"].map((s) => `Node ${s}: roamer`))
      expect(titled(title), title).toHaveLength(1);
  });

  it("sends nothing for an enrollment refused with 409", async () => {
    await createNode(t, net.id, { name: "twin" });
    await settled();
    const before = { events: await t.platform.database.db.$count(events), requests: discord.received.length };
    const refused = await t.request("/api/v1/nodes", {
      method: "POST",
      body: { networkId: net.id, name: "twin" },
    });
    expect(refused.status).toBe(409);
    await settled();
    expect(await t.platform.database.db.$count(events)).toBe(before.events);
    expect(discord.received).toHaveLength(before.requests);
    expect(titled("Node enrolled: twin")).toHaveLength(1);
  });

  it("emails a node's owner its config once: attached, QR inline, the private key nowhere else", async () => {
    const node = await createNode(t, net.id, { name: "phone", email: "ada@example.com" });
    const privateKey = /^PrivateKey = (\S+)$/m.exec(node.config)?.[1];
    expect(privateKey).toBeDefined();

    await vi.waitFor(() => expect(sentTo("ada@example.com")).toHaveLength(1), WAIT);
    await settled();
    const [row, ...others] = await t.platform.database.db
      .select()
      .from(emails)
      .where(eq(emails.to, "ada@example.com"));
    expect(others).toHaveLength(0);
    expect(row).toMatchObject({
      template: "node-config",
      status: "sent",
      attempts: 1,
      data: { nodeId: node.node.id },
    });
    expect(resend.requestsByKey.get(row!.id)).toBe(1);

    const mail = sentTo("ada@example.com")[0]!;
    expect(mail.subject).toBe("Your WireGuard config for phone");
    expect(mail.html).toContain(`<img src="cid:${QR_CONTENT_ID}"`);
    const [conf, qr] = mail.attachments!;
    const served = await (await t.request(`/api/v1/nodes/${node.node.id}/config`)).text();
    expect(conf!.filename).toBe("office-phone.conf");
    expect(Buffer.from(conf!.content, "base64").toString("utf8")).toBe(served);
    expect(served).toContain(`PrivateKey = ${privateKey}`);
    expect(qr!.content_id).toBe(QR_CONTENT_ID);
    const png = await (await t.request(`/api/v1/nodes/${node.node.id}/config?format=qr`)).arrayBuffer();

    expect(Buffer.from(qr!.content, "base64").equals(Buffer.from(png))).toBe(true);

    // The private key is in the attachment only: not the body, the email row, the event or a log line.
    for (const part of [mail.subject, mail.html, mail.text]) expect(part).not.toContain(privateKey);
    expect(JSON.stringify(row)).not.toContain(privateKey);
    expect(JSON.stringify(await t.platform.database.db.select().from(events))).not.toContain(privateKey);
    expect(t.logs.text).not.toContain(privateKey);
    expect(t.logs.text).not.toContain(RESEND_KEY);
    expect(t.logs.text).not.toContain(node.token);
  });

  it("emails no config for a node that brings its own key or has no email", async () => {
    await createNode(t, net.id, {
      name: "own",
      email: "own@example.com",
      publicKey: generateKeyPair().publicKey,
    });
    await createNode(t, net.id, { name: "anonymous" });
    await settled();
    expect(sentTo("own@example.com")).toHaveLength(0);
    const configs = await t.platform.database.db
      .select()
      .from(emails)
      .where(eq(emails.template, "node-config"));
    // Only the nodes enrolled with an email and a server-made key (roamer's owner and ada) got one.
    expect(configs.map((e) => e.to).sort()).toEqual(["ada@example.com", "owner@example.com"]);
  });
});
