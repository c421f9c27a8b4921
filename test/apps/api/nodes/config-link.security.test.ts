/**
 * Who may make, use and revoke a config link: only admins make and revoke them; the link itself is
 * the only credential a download needs; its token never reaches the logs, the audit log or any
 * answer but the one that made it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "../../../../src/db/index.js";
import { createApiKey } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("config link access", () => {
  let t: TestPlatform;
  let networkId: string;
  let readKey: string;

  beforeAll(async () => {
    t = await createTestPlatform();
    networkId = (await createNetwork(t)).id;
    readKey = (await createApiKey(t, ["read"])).key;
  });
  afterAll(async () => {
    await t.close();
  });

  it("lets only admins make a link: 401 without credentials, 403 for a read key and the node's own token", async () => {
    const { node, token } = await createNode(t, networkId);
    const path = `/api/v1/nodes/${node.id}/config/link`;
    expect((await t.request(path, { method: "POST", body: {}, key: null })).status).toBe(401);
    expect((await t.request(path, { method: "POST", body: {}, key: readKey })).status).toBe(403);
    expect((await t.request(path, { method: "POST", body: {}, ...asToken(token) })).status).toBe(403);
  });

  it("lets only admins revoke a link, and a refused revoke leaves it usable", async () => {
    const { node } = await createNode(t, networkId);
    const made = await t.request(`/api/v1/nodes/${node.id}/config/link`, { method: "POST", body: {} });
    const url = new URL((await json(made)).data.url);
    const path = `${url.pathname}${url.search}`;
    expect((await t.request(path, { method: "DELETE", key: null })).status).toBe(401);
    expect((await t.request(path, { method: "DELETE", key: readKey })).status).toBe(403);
    expect((await t.request(path, { key: null })).status).toBe(200);
  });

  it("keeps the token out of logs, the audit log, the node's views and the events", async () => {
    const { node } = await createNode(t, networkId);
    const made = await t.request(`/api/v1/nodes/${node.id}/config/link`, { method: "POST", body: {} });
    const url = new URL((await json(made)).data.url);
    const token = url.searchParams.get("token")!;
    expect((await t.request(`${url.pathname}${url.search}`, { key: null })).status).toBe(200);
    expect((await t.request(`${url.pathname}${url.search}`, { key: null })).status).toBe(410);
    const audits = JSON.stringify(await t.platform.database.db.select().from(auditLog));
    const views = await (await t.request(`/api/v1/nodes/${node.id}`)).text();
    const auditApi = await (await t.request("/api/admin/audit?limit=500")).text();
    for (const text of [t.logs.text, audits, views, auditApi]) expect(text).not.toContain(token);
    // The request lines were logged, with the token redacted.
    expect(t.logs.text).toContain(`/api/v1/nodes/${node.id}/config/link?token=[REDACTED]`);
  });
});
