/**
 * A hub key rotation through the API: a new hub key in every node's config at a new version, the
 * server-held nodes' configs reissued (email or one-time link), and never the hub's private key.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import { createApiKey } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode, eventsOfNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("hub key rotation", () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("moves every config to the new hub key and reissues the server-held ones by email or link", async () => {
    const net = await createNetwork(t);
    const mailed = await createNode(t, net.id, { email: "owner@example.com" });
    const linked = await createNode(t, net.id);
    const own = await createNode(t, net.id, { publicKey: generateKeyPair().publicKey });
    const res = await t.request(`/api/v1/networks/${net.id}/rotate-hub-key`, { method: "POST" });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("PrivateKey");
    const body = JSON.parse(text).data;
    expect(body.previousHubPublicKey).toBe(net.hubPublicKey);
    expect(body.network.hubPublicKey).not.toBe(net.hubPublicKey);
    const byId = new Map(body.reissued.map((r: { nodeId: string }) => [r.nodeId, r]));
    expect(byId.size).toBe(2);
    expect(byId.get(mailed.node.id)).toEqual({
      nodeId: mailed.node.id,
      name: mailed.node.name,
      emailQueuedTo: "owner@example.com",
    });
    const link = (byId.get(linked.node.id) as { configLink: { url: string } }).configLink;
    const url = new URL(link.url);
    const config = await (await t.request(`${url.pathname}${url.search}`, { key: null })).text();
    expect(config).toContain(`PublicKey = ${body.network.hubPublicKey}`);
    for (const { node, token } of [mailed, linked, own]) {
      const view = (await json(await t.request(`/api/v1/nodes/${node.id}`))).data;
      expect(view.configVersion).toBe(node.configVersion + 1);
      const current = await (await t.request(`/api/v1/nodes/${node.id}/config`, asToken(token))).text();
      expect(current).toContain(`PublicKey = ${body.network.hubPublicKey}`);
      expect(current).not.toContain(net.hubPublicKey);
    }
    const mailedEvents = (await eventsOfNode(t, mailed.node.id)).filter((e) => e.type === "node.updated");
    expect(mailedEvents.map((e) => e.data.newConfig)).toEqual([true]);
    expect((await eventsOfNode(t, linked.node.id)).filter((e) => e.type === "node.updated")).toHaveLength(0);
  });

  it("lets only an admin rotate: 401 anonymous, 403 read key and node token, and nothing changes", async () => {
    const net = await createNetwork(t);
    const { token } = await createNode(t, net.id);
    const readKey = (await createApiKey(t, ["read"])).key;
    const path = `/api/v1/networks/${net.id}/rotate-hub-key`;
    expect((await t.request(path, { method: "POST", key: null })).status).toBe(401);
    expect((await t.request(path, { method: "POST", key: readKey })).status).toBe(403);
    expect((await t.request(path, { method: "POST", ...asToken(token) })).status).toBe(403);
    const view = (await json(await t.request(`/api/v1/networks/${net.id}`))).data;
    expect(view.hubPublicKey).toBe(net.hubPublicKey);
    expect(
      (
        await t.request("/api/v1/networks/00000000-0000-4000-8000-000000000000/rotate-hub-key", {
          method: "POST",
        })
      ).status,
    ).toBe(404);
  });
});
