import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("mesh authorisation and secrecy", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const asNode = (token: string) => ({ key: null, headers: { Authorization: `Bearer ${token}` } });

  it("lets a node token read only its own config: every other pair of 10 nodes answers 404", async () => {
    const net = await createNetwork(t, { topology: "mesh" });
    const nodes = [];
    for (let i = 0; i < 10; i++) nodes.push(await createNode(t, net.id));
    for (const reader of nodes) {
      for (const target of nodes) {
        const res = await t.request(`/api/v1/nodes/${target.node.id}/config`, asNode(reader.token));
        if (reader === target) {
          expect(res.status).toBe(200);
          expect(await res.text()).toContain("PrivateKey = ");
        } else {
          expect(res.status).toBe(404);
          expect((await json(res)).code).toBe("NODE_NOT_FOUND");
        }
      }
    }
  });

  it("refuses node tokens everywhere but the node's own endpoints", async () => {
    const net = await createNetwork(t);
    const node = await createNode(t, net.id);
    expect((await t.request("/api/v1/nodes", asNode(node.token))).status).toBe(403);
    expect((await t.request(`/api/v1/nodes/${node.node.id}`, asNode(node.token))).status).toBe(403);
    expect((await t.request("/api/admin/api-keys", asNode(node.token))).status).toBe(403);
    expect((await t.request(`/api/v1/nodes/${node.node.id}/config`, asNode("wsn_forged"))).status).toBe(401);
  });

  it("answers 401 for a config without credentials", async () => {
    const net = await createNetwork(t);
    const node = await createNode(t, net.id);
    expect((await t.request(`/api/v1/nodes/${node.node.id}/config`, { key: null })).status).toBe(401);
  });

  it("admits exactly one of two racing registrations with a one-use enrollment key", async () => {
    const net = await createNetwork(t);
    const key = (
      await json(await t.request("/api/v1/enrollment-keys", { method: "POST", body: { networkId: net.id } }))
    ).data.key;
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.request("/api/v1/nodes/register", {
          method: "POST",
          key: null,
          headers: { Authorization: `Bearer ${key}` },
          body: { publicKey: generateKeyPair().publicKey },
        }),
      ),
    );
    expect(attempts.map((r) => r.status).sort()).toEqual([201, 401, 401, 401, 401, 401, 401, 401]);
    expect((await json(await t.request(`/api/v1/nodes?networkId=${net.id}`))).data.total).toBe(1);
  });

  it("honours maxUses, expiry and revocation of enrollment keys", async () => {
    const net = await createNetwork(t);
    const create = async (body: Record<string, unknown>) =>
      (
        await json(
          await t.request("/api/v1/enrollment-keys", {
            method: "POST",
            body: { networkId: net.id, ...body },
          }),
        )
      ).data;
    const register = (key: string) =>
      t.request("/api/v1/nodes/register", {
        method: "POST",
        key: null,
        headers: { Authorization: `Bearer ${key}` },
        body: { publicKey: generateKeyPair().publicKey, location: { country: "DE", region: "Berlin" } },
      });
    const twice = await create({ reusable: true, maxUses: 2 });
    expect((await register(twice.key)).status).toBe(201);
    expect((await register(twice.key)).status).toBe(201);
    expect((await register(twice.key)).status).toBe(401);
    const revoked = await create({ reusable: true });
    expect((await t.request(`/api/v1/enrollment-keys/${revoked.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await register(revoked.key)).status).toBe(401);
    expect((await register(`${twice.key.slice(0, -1)}A`)).status).toBe(401);
    const listed = await json(await t.request(`/api/v1/enrollment-keys?networkId=${net.id}`));
    expect(JSON.stringify(listed)).not.toContain(twice.key);
    expect(listed.data.find((k: { id: string }) => k.id === twice.id).uses).toBe(2);
  });

  it("returns the registering node its token, and the token reads its config", async () => {
    const net = await createNetwork(t);
    const key = (
      await json(await t.request("/api/v1/enrollment-keys", { method: "POST", body: { networkId: net.id } }))
    ).data.key;
    const { publicKey } = generateKeyPair();
    const res = await t.request("/api/v1/nodes/register", {
      method: "POST",
      key: null,
      headers: { Authorization: `Bearer ${key}` },
      body: {
        name: "edge-1",
        publicKey,
        networkInfo: { ipv4: "198.51.100.7", natType: "symmetric", localPort: 51820 },
        capabilities: { maxConnections: 50, bandwidth: { up: 100, down: 1000 } },
        location: { country: "NL", region: "Amsterdam" },
      },
    });
    const body = await json(res);
    expect(res.status).toBe(201);
    expect(body.data.node).toMatchObject({
      name: "edge-1",
      natType: "symmetric",
      location: { country: "NL" },
    });
    const config = await t.request(`/api/v1/nodes/${body.data.node.id}/config`, asNode(body.data.token));
    expect(config.status).toBe(200);
    expect(await config.text()).toContain(`its public key is ${publicKey}`);
  });

  it("keeps private keys out of every log line, list response and job payload", async () => {
    const net = await createNetwork(t, { topology: "mesh" });
    const created = [await createNode(t, net.id), await createNode(t, net.id), await createNode(t, net.id)];
    const privateKeys = created.map((c) => /^PrivateKey = (\S+)$/m.exec(c.config)![1]!);
    const hub = await t.platform.services.configs.hubState(net.id);
    privateKeys.push(hub.hubPrivateKey);
    await t.request(`/api/v1/nodes/${created[0].node.id}`, { method: "PATCH", body: { name: "renamed" } });

    const lists = [
      await (await t.request("/api/v1/nodes?limit=500")).text(),
      await (await t.request("/api/v1/networks")).text(),
      await (await t.request(`/api/v1/nodes/${created[1].node.id}`)).text(),
      await (await t.request("/api/admin/audit?limit=500")).text(),
      await (await t.request("/api/v1/config")).text(),
    ];
    const jobs = [
      ...(await t.platform.queue.queues["peer-sync"].getJobs()),
      ...(await t.platform.queue.queues["config-push"].getJobs()),
    ];
    expect(jobs.length).toBeGreaterThan(0);
    expect(t.logs.lines.length).toBeGreaterThan(10);
    const payloads = jobs.map((j) => JSON.stringify(j.data));
    for (const key of privateKeys) {
      for (const text of [...lists, ...payloads, t.logs.text]) expect(text).not.toContain(key);
    }
    for (const c of created) expect(t.logs.text).not.toContain(c.token);
    // At rest the server-made keys exist only as ciphertext.
    const sealed = (await t.db.database.db.query.nodes.findMany())
      .map((r) => r.privateKeyEnc)
      .filter(Boolean);
    expect(sealed.length).toBeGreaterThanOrEqual(created.length);
    for (const key of privateKeys) expect(JSON.stringify(sealed)).not.toContain(key);
  });
});
