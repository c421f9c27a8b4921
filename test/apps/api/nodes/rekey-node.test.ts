import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, retiredPeers } from "../../../../src/db/index.js";
import { generateKeyPair, publicKeyOf } from "../../../../src/mesh/index.js";
import { bearer, createApiKey, createUser } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("POST /api/v1/nodes/:id/rekey", () => {
  let t: TestPlatform;
  let networkId: string;
  let node: { id: string; publicKey: string };
  let firstPrivateKey: string;
  const privateKeyOf = (config: string) => /^PrivateKey = (\S+)$/m.exec(config)?.[1];
  const rekey = (id: string, init: { key?: string | null; headers?: Record<string, string> } = {}) =>
    t.request(`/api/v1/nodes/${id}/rekey`, { method: "POST", ...init });

  beforeAll(async () => {
    t = await createTestPlatform();
    networkId = (
      await json(
        await t.request("/api/v1/networks", {
          method: "POST",
          body: { name: "office", cidr4: "10.81.0.0/24" },
        }),
      )
    ).data.id;
    const created = (
      await json(await t.request("/api/v1/nodes", { method: "POST", body: { networkId, name: "laptop" } }))
    ).data;
    node = created.node;
    firstPrivateKey = privateKeyOf(created.config)!;
  });
  afterAll(async () => {
    await t.close();
  });

  it("gives a server-keyed node a new key pair and answers its fresh config; the old key is retired", async () => {
    const res = await rekey(node.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { data } = await json(res);
    const privateKey = privateKeyOf(data.config)!;
    expect(privateKey).not.toBe(firstPrivateKey);
    expect(publicKeyOf(privateKey)).toBe(data.node.publicKey);
    expect(data.node).toMatchObject({ id: node.id, hasServerKey: true });
    expect(data.node.publicKey).not.toBe(node.publicKey);
    expect(data.filename).toMatch(/\.conf$/);

    // The stored key is the new one: a later download carries the same private key.
    const again = await (await t.request(`/api/v1/nodes/${node.id}/config`)).text();
    expect(privateKeyOf(again)).toBe(privateKey);
    const retired = await t.platform.database.db
      .select()
      .from(retiredPeers)
      .where(and(eq(retiredPeers.networkId, networkId), eq(retiredPeers.publicKey, node.publicKey)));
    expect(retired).toHaveLength(1);
    const audit = await t.platform.database.db
      .select({ action: auditLog.action, details: auditLog.details })
      .from(auditLog)
      .where(eq(auditLog.entityId, node.id));
    const updated = audit.filter((a) => a.action === "node.updated");
    expect(updated).toHaveLength(1);
    expect(updated[0]!.details).toMatchObject({ rekeyed: true, changes: { publicKey: data.node.publicKey } });
    expect(audit.filter((a) => a.action === "node.private-key-read")).toHaveLength(2);
    expect(JSON.stringify(audit)).not.toContain(privateKey);
    expect(t.logs.text).not.toContain(privateKey);
  });

  it("409 for a node that holds its own key, changing nothing", async () => {
    const own = generateKeyPair();
    const created = (
      await json(
        await t.request("/api/v1/nodes", {
          method: "POST",
          body: { networkId, name: "phone", publicKey: own.publicKey },
        }),
      )
    ).data;
    const res = await rekey(created.node.id);
    expect(res.status).toBe(409);
    const problem = await json(res);
    expect(problem.code).toBe("CONFLICT");
    expect(problem.detail).toBe(
      `node phone holds its own private key: make a new key pair on the node and send its public key with PATCH /api/v1/nodes/${created.node.id}`,
    );
    expect((await json(await t.request(`/api/v1/nodes/${created.node.id}`))).data.publicKey).toBe(
      own.publicKey,
    );
  });

  it("404 for an unknown node, 400 for an id that is not a uuid", async () => {
    const res = await rekey("00000000-0000-4000-8000-000000000000");
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe("NODE_NOT_FOUND");
    expect((await rekey("abc")).status).toBe(400);
  });

  it("401 anonymous, 403 for a read-scoped key and a non-admin user; the key stays", async () => {
    const before = (await json(await t.request(`/api/v1/nodes/${node.id}`))).data.publicKey;
    const readKey = (await createApiKey(t, ["read"])).key;
    await createUser(t, "admin@example.test");
    const user = await createUser(t, "user@example.test");
    expect((await rekey(node.id, { key: null })).status).toBe(401);
    const forReader = await rekey(node.id, { key: readKey });
    expect(forReader.status).toBe(403);
    expect(await forReader.text()).not.toMatch(/PrivateKey/);
    expect((await rekey(node.id, { key: null, headers: bearer(user.token) })).status).toBe(403);
    expect((await json(await t.request(`/api/v1/nodes/${node.id}`))).data.publicKey).toBe(before);
  });
});
