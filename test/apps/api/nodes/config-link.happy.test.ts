/** One-time config links: an admin makes one, anyone holding it downloads the node's config once. */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../../src/crypto/index.js";
import { auditLog, nodeConfigLinks } from "../../../../src/db/index.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("one-time config links", () => {
  let t: TestPlatform;
  let networkId: string;

  beforeAll(async () => {
    t = await createTestPlatform({ http: { publicUrl: "https://vpn.example.com/" } });
    networkId = (await createNetwork(t)).id;
  });
  afterAll(async () => {
    await t.close();
  });

  async function makeLink(nodeId: string, body?: Record<string, unknown>) {
    const res = await t.request(`/api/v1/nodes/${nodeId}/config/link`, {
      method: "POST",
      ...(body ? { body } : {}),
    });
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(201);
    return payload.data as { id: string; url: string; expiresAt: string };
  }

  /** The link's path and query, as a browser would request it from the URL. */
  const pathOf = (url: string) => {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  };

  it("downloads the node's config, private key included, once and without credentials", async () => {
    const { node, config } = await createNode(t, networkId);
    const before = Date.now();
    const link = await makeLink(node.id);
    expect(link.url).toMatch(
      new RegExp(
        `^https://vpn\\.example\\.com/api/v1/nodes/${node.id}/config/link\\?token=wsl_[A-Za-z0-9_-]{43}$`,
      ),
    );
    // Ten minutes unless told.
    const ttlMs = new Date(link.expiresAt).getTime() - before;
    expect(ttlMs).toBeGreaterThan(599_000);
    expect(ttlMs).toBeLessThanOrEqual(601_000);

    const res = await t.request(pathOf(link.url), { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename=".+\.conf"$/);
    const text = await res.text();
    expect(text).toBe(config);
    expect(text).toMatch(/PrivateKey = /);

    const actions = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.entityId, node.id));
    const byAction = (a: string) => actions.filter((r) => r.action === a);
    expect(byAction("node.config-link-created")).toHaveLength(1);
    expect(byAction("node.config-link-created")[0]!.details).toMatchObject({
      linkId: link.id,
      ttlSeconds: 600,
    });
    expect(byAction("node.config-link-used")).toHaveLength(1);
    expect(byAction("node.config-link-used")[0]!.details).toMatchObject({
      linkId: link.id,
      format: "conf",
      privateKey: true,
    });
  });

  it("serves the QR code with ?format=qr, and honours a chosen lifetime", async () => {
    const { node } = await createNode(t, networkId);
    const before = Date.now();
    const link = await makeLink(node.id, { ttlSeconds: 60 });
    const ttlMs = new Date(link.expiresAt).getTime() - before;
    expect(ttlMs).toBeGreaterThan(59_000);
    expect(ttlMs).toBeLessThanOrEqual(61_000);
    const res = await t.request(`${pathOf(link.url)}&format=qr`, { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    const png = Buffer.from(await res.arrayBuffer());
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  });

  it("stores only the token's SHA-256 and the time it was used", async () => {
    const { node } = await createNode(t, networkId);
    const link = await makeLink(node.id);
    const token = new URL(link.url).searchParams.get("token")!;
    expect((await t.request(pathOf(link.url), { key: null })).status).toBe(200);
    const [row] = await t.platform.database.db
      .select()
      .from(nodeConfigLinks)
      .where(eq(nodeConfigLinks.id, link.id));
    expect(row!.tokenHash).toBe(sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row!.usedAt).toBeInstanceOf(Date);
    expect(row!.revokedAt).toBeNull();
  });
});

describe("one-time config links on a single database connection", () => {
  // The embedded database (PGlite) has one connection: a read outside the link's transaction would
  // wait for it forever there. Here that wait is bounded, and fails the download with a 503.
  let t: TestPlatform;

  beforeAll(async () => {
    t = await createTestPlatform({
      poolSize: 1,
      databaseTimeouts: { connectTimeoutSeconds: 5, statementTimeoutMs: 2_000, responseTimeoutMs: 4_000 },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it("downloads the config through a link, then refuses the link", async () => {
    const { node, config } = await createNode(t, (await createNetwork(t)).id);
    const made = await json(await t.request(`/api/v1/nodes/${node.id}/config/link`, { method: "POST" }));
    const link = new URL(made.data.url);
    const first = await t.request(`${link.pathname}${link.search}`, { key: null });
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(config);
    const again = await t.request(`${link.pathname}${link.search}`, { key: null });
    expect(again.status).toBe(410);
  });
});
