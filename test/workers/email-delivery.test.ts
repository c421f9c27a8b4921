import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import QRCode from "qrcode";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { emails } from "../../src/db/index.js";
import { emitEvent } from "../../src/events/index.js";
import type { NodeConfigFile, NodeConfigSource } from "../../src/notify/index.js";
import { QR_CONTENT_ID } from "../../src/notify/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { json } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { ResendStandIn } from "../support/stand-ins.js";
import { startResendStandIn } from "../support/stand-ins.js";
import { startNotifyWorkers } from "../support/workers.js";

const RESEND_KEY = `re_test_${randomUUID().replaceAll("-", "")}`;
const PRIVATE_KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

/** The port as the mesh will implement it: configs exist only for nodes whose key the server holds. */
function memoryConfigs(): NodeConfigSource & { add(id: string, name: string): Promise<void> } {
  const configs = new Map<string, NodeConfigFile>();
  return {
    async add(id, name) {
      const text = `[Interface]\nPrivateKey = ${PRIVATE_KEY}\nAddress = 10.8.0.2/32\n`;
      configs.set(id, {
        nodeName: name,
        networkName: "lab",
        filename: `${name}.conf`,
        text,
        qrPng: await QRCode.toBuffer(text),
      });
    },
    async configFor(id) {
      return configs.get(id);
    },
  };
}

async function emailRow(t: TestPlatform, id: string) {
  const [row] = await t.platform.database.db.select().from(emails).where(eq(emails.id, id));
  return row!;
}

describe("emails through Resend", () => {
  let t: TestPlatform;
  let resend: ResendStandIn;
  let workers: WorkerRuntime;
  const nodes = memoryConfigs();

  beforeAll(async () => {
    resend = await startResendStandIn(RESEND_KEY);
    t = await createTestPlatform({
      notify: {
        email: { resendApiKey: RESEND_KEY, resendBaseUrl: resend.url, from: "wiresync <ops@example.com>" },
      },
      nodeConfigs: nodes,
    });
    workers = startNotifyWorkers(t.platform);
  });
  afterAll(async () => {
    await workers.close(1_000);
    await t.close();
    await resend.close();
  });

  it("queues an email through the API and sends it once with the outbox id as Idempotency-Key", async () => {
    const res = await t.request("/api/v1/email/queue", {
      method: "POST",
      body: { to: "new@example.com", template: "welcome", data: { name: "Ada" } },
    });
    expect(res.status).toBe(202);
    const { email, enqueued } = (await json(res)).data;
    expect(enqueued).toBe(true);
    await vi.waitFor(async () => expect((await emailRow(t, email.id)).status).toBe("sent"), {
      timeout: 5_000,
    });
    const sent = resend.accepted.get(email.id)!;
    expect(sent.body).toMatchObject({
      from: "wiresync <ops@example.com>",
      to: "new@example.com",
      subject: "Welcome to wiresync",
    });
    expect(String(sent.body.html)).toContain("Hello Ada,");
    expect(String(sent.body.text)).toContain("Hello Ada,");
    expect((await emailRow(t, email.id)).providerId).toBe(sent.id);

    const list = await json(await t.request("/api/admin/emails?status=sent"));
    expect(list.data.items.map((e: { id: string }) => e.id)).toContain(email.id);
    expect(list.data.items[0]).toMatchObject({ status: "sent", template: "welcome", attempts: 1 });
  });

  it("retries a Resend 500 with the same key, so the recipient gets one email", async () => {
    resend.failNext(1, 500);
    const { email } = await t.platform.services.emails.queue({
      to: "retry@example.com",
      template: "sync-failed",
      data: { run: { id: "r1", type: "full", error: "boom" } },
    });
    await vi.waitFor(async () => expect((await emailRow(t, email.id)).status).toBe("sent"), {
      timeout: 5_000,
    });
    expect(resend.requestsByKey.get(email.id)).toBe(2);
    expect((await emailRow(t, email.id)).attempts).toBe(2);
  });

  it("does not retry what Resend refuses (422) and records why", async () => {
    resend.failNext(1, 422);
    const { email } = await t.platform.services.emails.queue({
      to: "bad@example.com",
      template: "welcome",
      data: {},
    });
    await vi.waitFor(async () => expect((await emailRow(t, email.id)).status).toBe("failed"), {
      timeout: 5_000,
    });
    expect(resend.requestsByKey.get(email.id)).toBe(1);
    expect((await emailRow(t, email.id)).error).toMatch(/^422: /);
  });

  it("sends node-config when a node is enrolled with an email and a server-held key", async () => {
    const nodeId = randomUUID();
    await nodes.add(nodeId, "laptop");
    const eventId = await t.platform.database.db.transaction(async (tx) => {
      const e = await emitEvent(tx, {
        type: "node.enrolled",
        data: {
          node: {
            id: nodeId,
            name: "laptop",
            email: "owner@example.com",
            hasServerKey: true,
            privateKey: PRIVATE_KEY,
          },
          network: { id: randomUUID(), name: "lab" },
        },
      });
      return e.id;
    });
    await t.platform.services.relay.run();
    const [row] = await t.platform.database.db.select().from(emails).where(eq(emails.eventId, eventId));
    expect(row).toMatchObject({ to: "owner@example.com", template: "node-config", data: { nodeId } });
    await vi.waitFor(async () => expect((await emailRow(t, row!.id)).status).toBe("sent"), {
      timeout: 5_000,
    });
    const body = resend.accepted.get(row!.id)!.body as {
      subject: string;
      html: string;
      attachments: { filename: string; content: string; content_type?: string; content_id?: string }[];
    };
    expect(body.subject).toBe("Your WireGuard config for laptop");
    expect(body.html).toContain(`cid:${QR_CONTENT_ID}`);
    const [conf, qr] = body.attachments;
    expect(conf!.filename).toBe("laptop.conf");
    expect(Buffer.from(conf!.content, "base64").toString()).toContain("[Interface]");
    expect(qr!.content_id).toBe(QR_CONTENT_ID);
    expect(Buffer.from(qr!.content, "base64").subarray(1, 4).toString()).toBe("PNG");
    // The private key travels only in the attachment: never in the row, the event or a log line.
    expect(JSON.stringify(row)).not.toContain(PRIVATE_KEY);
    expect(t.logs.text).not.toContain(PRIVATE_KEY);
    expect(t.logs.text).not.toContain(RESEND_KEY);
  });

  it("skips node-config for a node without a server-held key", async () => {
    const { email } = await t.platform.services.emails.queue({
      to: "x@example.com",
      template: "node-config",
      data: { nodeId: randomUUID() },
    });
    await vi.waitFor(async () => expect((await emailRow(t, email.id)).status).toBe("skipped"), {
      timeout: 5_000,
    });
    expect((await emailRow(t, email.id)).error).toMatch(/no server-held key/);
    expect(resend.requestsByKey.has(email.id)).toBe(false);
  });
});

describe("emails without RESEND_API_KEY", () => {
  it("records them as skipped with one clear log line, and nothing crashes", async () => {
    const t = await createTestPlatform();
    const workers = startNotifyWorkers(t.platform);
    try {
      const ids: string[] = [];
      for (const to of ["a@example.com", "b@example.com"]) {
        ids.push((await t.platform.services.emails.queue({ to, template: "welcome", data: {} })).email.id);
      }
      await vi.waitFor(
        async () => {
          for (const id of ids) expect((await emailRow(t, id)).status).toBe("skipped");
        },
        { timeout: 5_000 },
      );
      expect((await emailRow(t, ids[0]!)).error).toBe("RESEND_API_KEY is not set");
      const lines = t.logs.parsed().filter((l) => String(l.msg).includes("RESEND_API_KEY"));
      expect(lines).toHaveLength(1);
      expect(lines[0]!.level).toBe(40);
    } finally {
      await workers.close(1_000);
      await t.close();
    }
  });
});
