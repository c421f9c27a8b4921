/**
 * A node's config carries its server-held private key: only admins and the node's own token may
 * download it (readers get 403), and every download of a config with a key is audited.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { bearer, createApiKey, createUser } from "../../../support/auth.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const privateKeyOf = (config: string) => /^PrivateKey = (\S+)$/m.exec(config)?.[1];

describe("who may download a node's private key", () => {
  let t: TestPlatform;
  let node: Json;
  let privateKey: string;
  let readKey: string;
  let userToken: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    await createUser(t, "admin@example.test");
    userToken = (await createUser(t, "user@example.test", { role: "user" })).token;
    readKey = (await createApiKey(t, ["read"])).key;
    const net = await createNetwork(t, { topology: "mesh" });
    node = await createNode(t, net.id, { name: "laptop" });
    privateKey = privateKeyOf(node.config)!;
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
  afterAll(async () => {
    await t.close();
  });

  const keyReads = () =>
    t.platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "node.private-key-read"), eq(auditLog.entityId, node.node.id)))
      .orderBy(auditLog.id);

  it.each([
    ["a read key", "conf"],
    ["a read key", "qr"],
    ["a user's session", "conf"],
    ["a user's session", "qr"],
  ])("answers 403 to %s (format %s), without the key and without an audit row", async (who, format) => {
    const before = (await keyReads()).length;
    const init = who === "a read key" ? { key: readKey } : { key: null, headers: bearer(userToken) };
    const res = await t.request(`/api/v1/nodes/${node.node.id}/config?format=${format}`, init);
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).not.toContain(privateKey);
    expect(JSON.parse(text)).toMatchObject({
      code: "FORBIDDEN",
      detail:
        "a node's config carries its private key: only an admin or the node's own token may download it",
    });
    expect(await keyReads()).toHaveLength(before);
  });

  it("answers 403 to a read key for a node that does not exist either (no existence oracle)", async () => {
    const res = await t.request("/api/v1/nodes/00000000-0000-4000-8000-000000000000/config", {
      key: readKey,
    });
    expect(res.status).toBe(403);
  });

  it("serves the key to an admin and to the node itself, auditing each download (who, which node, never the key)", async () => {
    const before = (await keyReads()).length;
    const asAdmin = await t.request(`/api/v1/nodes/${node.node.id}/config`);
    expect(asAdmin.status).toBe(200);
    expect(privateKeyOf(await asAdmin.text())).toBe(privateKey);
    const qr = await t.request(`/api/v1/nodes/${node.node.id}/config?format=qr`);
    expect(qr.status).toBe(200);
    expect(qr.headers.get("content-type")).toBe("image/png");
    const asNode = await t.request(`/api/v1/nodes/${node.node.id}/config`, asToken(node.token));
    expect(asNode.status).toBe(200);
    expect(privateKeyOf(await asNode.text())).toBe(privateKey);

    const rows = (await keyReads()).slice(before);
    expect(rows.map((r) => [r.actor, r.entityType, r.details])).toEqual([
      ["api-key:bootstrap", "node", { networkId: node.node.networkId, format: "conf" }],
      ["api-key:bootstrap", "node", { networkId: node.node.networkId, format: "qr" }],
      [`node:${node.node.id}`, "node", { networkId: node.node.networkId, format: "conf" }],
    ]);
    for (const row of rows) expect(row.requestId).toMatch(/.+/);
    expect(JSON.stringify(rows)).not.toContain(privateKey);
    expect(t.logs.text).not.toContain(privateKey);
  });

  it("records no key read for a node whose private key the server does not hold", async () => {
    const net = await createNetwork(t);
    const own = await createNode(t, net.id, { publicKey: generateKeyPair().publicKey });
    const res = await t.request(`/api/v1/nodes/${own.node.id}/config`);
    expect(res.status).toBe(200);
    expect(privateKeyOf(await res.text())).toBeUndefined();
    const rows = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "node.private-key-read"), eq(auditLog.entityId, own.node.id)));
    expect(rows).toEqual([]);
  });

  it("lists the reads in the admin audit log", async () => {
    const res = await t.request(`/api/admin/audit?entityType=node&entityId=${node.node.id}`);
    expect(res.status).toBe(200);
    const body = await json(res);
    const reads = body.data.items.filter((i: { action: string }) => i.action === "node.private-key-read");
    expect(reads.map((i: { actor: string }) => i.actor)).toEqual([
      `node:${node.node.id}`,
      "api-key:bootstrap",
      "api-key:bootstrap",
    ]);
    expect(JSON.stringify(body)).not.toContain(privateKey);
  });
});
