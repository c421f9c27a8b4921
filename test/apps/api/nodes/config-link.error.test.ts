/**
 * A one-time config link is refused, changing nothing, the second time (410), after its expiry (410),
 * after a revoke (410), for another node's id (404) and with a made-up token (404); of two downloads
 * at once exactly one gets the config; lifetimes outside 60 s–1 day are refused (400).
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, nodeConfigLinks } from "../../../../src/db/index.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("one-time config links refused", () => {
  let t: TestPlatform;
  let networkId: string;

  beforeAll(async () => {
    t = await createTestPlatform();
    networkId = (await createNetwork(t)).id;
  });
  afterAll(async () => {
    await t.close();
  });

  async function makeLink(nodeId: string) {
    const res = await t.request(`/api/v1/nodes/${nodeId}/config/link`, { method: "POST", body: {} });
    expect(res.status).toBe(201);
    const { id, url } = (await json(res)).data as { id: string; url: string };
    return { id, token: new URL(url).searchParams.get("token")! };
  }
  const download = (nodeId: string, token: string) =>
    t.request(`/api/v1/nodes/${nodeId}/config/link?token=${token}`, { key: null });
  const uses = async (nodeId: string) =>
    (await t.platform.database.db.select().from(auditLog).where(eq(auditLog.entityId, nodeId))).filter(
      (a) => a.action === "node.config-link-used",
    ).length;

  async function expectRefused(res: Response, status: number, code: string, detail?: RegExp) {
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(body.error.code).toBe(code);
    if (detail) expect(body.error.message).toMatch(detail);
    expect(JSON.stringify(body)).not.toContain("PrivateKey");
  }

  it("refuses the second download", async () => {
    const { node } = await createNode(t, networkId);
    const link = await makeLink(node.id);
    expect((await download(node.id, link.token)).status).toBe(200);
    await expectRefused(await download(node.id, link.token), 410, "CONFIG_LINK_GONE", /was used at/);
    expect(await uses(node.id)).toBe(1);
  });

  it("refuses a download after expiry", async () => {
    const { node } = await createNode(t, networkId);
    const link = await makeLink(node.id);
    await t.platform.database.db
      .update(nodeConfigLinks)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(nodeConfigLinks.id, link.id));
    await expectRefused(await download(node.id, link.token), 410, "CONFIG_LINK_GONE", /expired at/);
    expect(await uses(node.id)).toBe(0);
  });

  it("refuses the link under another node's id, and it still works for its own node", async () => {
    const { node } = await createNode(t, networkId);
    const { node: other } = await createNode(t, networkId);
    const link = await makeLink(node.id);
    await expectRefused(await download(other.id, link.token), 404, "CONFIG_LINK_NOT_FOUND");
    await expectRefused(await download(node.id, `wsl_${"A".repeat(43)}`), 404, "CONFIG_LINK_NOT_FOUND");
    expect((await download(node.id, link.token)).status).toBe(200);
  });

  it("refuses a download after revoke, and a second revoke", async () => {
    const { node } = await createNode(t, networkId);
    const link = await makeLink(node.id);
    const revoked = await t.request(`/api/v1/nodes/${node.id}/config/link?token=${link.token}`, {
      method: "DELETE",
    });
    expect(revoked.status).toBe(200);
    expect((await json(revoked)).data.id).toBe(link.id);
    await expectRefused(await download(node.id, link.token), 410, "CONFIG_LINK_GONE", /was revoked at/);
    await expectRefused(
      await t.request(`/api/v1/nodes/${node.id}/config/link?token=${link.token}`, { method: "DELETE" }),
      410,
      "CONFIG_LINK_GONE",
    );
    const audits = await t.platform.database.db.select().from(auditLog).where(eq(auditLog.entityId, node.id));
    expect(audits.filter((a) => a.action === "node.config-link-revoked")).toHaveLength(1);
    expect(await uses(node.id)).toBe(0);
  });

  it("answers a HEAD request 405 without using the link up", async () => {
    const { node } = await createNode(t, networkId);
    const link = await makeLink(node.id);
    const head = await t.request(`/api/v1/nodes/${node.id}/config/link?token=${link.token}`, {
      method: "HEAD",
      key: null,
    });
    expect(head.status).toBe(405);
    expect(await uses(node.id)).toBe(0);
    expect((await download(node.id, link.token)).status).toBe(200);
  });

  it("gives the config to exactly one of several downloads at once", async () => {
    const { node } = await createNode(t, networkId);
    const link = await makeLink(node.id);
    const answers = await Promise.all(Array.from({ length: 8 }, () => download(node.id, link.token)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 410, 410, 410, 410, 410, 410, 410]);
    expect(await uses(node.id)).toBe(1);
  });

  it.each([
    [{ ttlSeconds: 59 }, "too short"],
    [{ ttlSeconds: 86_401 }, "too long"],
    [{ ttlSeconds: 90.5 }, "not whole seconds"],
    [{ ttlSeconds: "600" }, "not a number"],
    [{ ttl: 600 }, "an unknown field"],
  ])("refuses %j (%s) with 400, making no link", async (body, _why) => {
    const { node } = await createNode(t, networkId);
    const res = await t.request(`/api/v1/nodes/${node.id}/config/link`, { method: "POST", body });
    await expectRefused(res, 400, "VALIDATION_FAILED");
    const links = await t.platform.database.db
      .select()
      .from(nodeConfigLinks)
      .where(eq(nodeConfigLinks.nodeId, node.id));
    expect(links).toHaveLength(0);
  });

  it("answers 404 for a link to a node that does not exist", async () => {
    const res = await t.request("/api/v1/nodes/00000000-0000-4000-8000-000000000000/config/link", {
      method: "POST",
      body: {},
    });
    await expectRefused(res, 404, "NODE_NOT_FOUND");
  });
});
