/**
 * A network's preshared keys through the API: the setting on create and PATCH (every node without a
 * key gets one at once, each changed config at a new version, the hub's desired peers with them,
 * server-held configs reissued), enrollment with it on, mesh pair keys the same at both ends of each
 * pair, and a rotation of them all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode, eventsOfNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { type AgentNode, agentNode } from "../../../support/rekey-support.js";

/** Each `[Peer]` of a config: public key → preshared key (undefined: none). */
const peerKeys = (config: string) =>
  new Map(
    config
      .split("[Peer]")
      .slice(1)
      .map((s) => [/PublicKey = (\S+)/.exec(s)![1]!, /PresharedKey = (\S+)/.exec(s)?.[1]]),
  );

describe("network preshared keys", () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const view = async (id: string) => (await json(await t.request(`/api/v1/nodes/${id}`))).data;
  const configOf = async (node: AgentNode) =>
    (await t.request(`/api/v1/nodes/${node.id}/config`, asToken(node.token))).text();
  const hubPeers = async (networkId: string) =>
    new Map(
      (await t.platform.services.configs.hubState(networkId)).peers.map((p) => [p.publicKey, p.presharedKey]),
    );

  it("turned on for a hub network: every node without a key gets one, once, with the hub's peers alike", async () => {
    const net = await createNetwork(t);
    expect(net.presharedKeys).toBe("off");
    const a = await agentNode(t, net.id);
    const b = await agentNode(t, net.id);
    const keyed = await agentNode(t, net.id);
    expect((await t.request(`/api/v1/nodes/${keyed.id}/psk`, { method: "POST" })).status).toBe(200);
    const keyedPsk = peerKeys(await configOf(keyed)).get(net.hubPublicKey);
    const mailed = await createNode(t, net.id, { email: "owner@example.com" });
    const linked = await createNode(t, net.id);
    const before = new Map<string, number>();
    for (const id of [a.id, b.id, keyed.id, mailed.node.id, linked.node.id])
      before.set(id, (await view(id)).configVersion);

    const res = await t.request(`/api/v1/networks/${net.id}`, {
      method: "PATCH",
      body: { presharedKeys: "hub" },
    });
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    expect(body.presharedKeys).toBe("hub");
    const reissued = new Map(body.reissued.map((r: { nodeId: string }) => [r.nodeId, r]));
    expect(reissued.size).toBe(2);
    expect(reissued.get(mailed.node.id)).toMatchObject({ emailQueuedTo: "owner@example.com" });
    const link = new URL((reissued.get(linked.node.id) as { configLink: { url: string } }).configLink.url);
    const linkedConfig = await (await t.request(`${link.pathname}${link.search}`, { key: null })).text();

    const hub = await hubPeers(net.id);
    const pskOf = new Map<string, string | undefined>();
    for (const n of [a, b, keyed]) pskOf.set(n.id, peerKeys(await configOf(n)).get(net.hubPublicKey));
    pskOf.set(linked.node.id, peerKeys(linkedConfig).get(net.hubPublicKey));
    expect(pskOf.get(keyed.id)).toBe(keyedPsk);
    expect(new Set(pskOf.values()).size).toBe(4);
    for (const [id, psk] of pskOf) {
      expect(Buffer.from(psk!, "base64")).toHaveLength(32);
      const v = await view(id);
      expect(v.hasPresharedKey).toBe(true);
      expect(v.configVersion).toBe(before.get(id)! + (id === keyed.id ? 0 : 1));
      expect(hub.get(v.publicKey)).toBe(psk);
    }
    expect((await view(mailed.node.id)).configVersion).toBe(before.get(mailed.node.id)! + 1);
    const mailedEvents = (await eventsOfNode(t, mailed.node.id)).filter((e) => e.type === "node.updated");
    expect(mailedEvents.map((e) => e.data.newConfig)).toEqual([true]);

    // The same setting again changes nothing; a PATCH without it answers no `reissued`.
    const again = (
      await json(
        await t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { presharedKeys: "hub" } }),
      )
    ).data;
    expect(again.reissued).toEqual([]);
    expect((await view(a.id)).configVersion).toBe(before.get(a.id)! + 1);
    const other = (
      await json(await t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { mtu: 1400 } }))
    ).data;
    expect(other.reissued).toBeUndefined();
  });

  it("gives a node enrolled while it is on its key with the hub, in its first config", async () => {
    const net = await createNetwork(t, { presharedKeys: "hub" });
    const created = await createNode(t, net.id);
    expect(created.node.hasPresharedKey).toBe(true);
    const psk = peerKeys(created.config).get(net.hubPublicKey);
    expect(Buffer.from(psk!, "base64")).toHaveLength(32);
    const agent = await agentNode(t, net.id);
    const agentPsk = peerKeys(await configOf(agent)).get(net.hubPublicKey);
    expect(agentPsk).toBeDefined();
    expect(agentPsk).not.toBe(psk);
    const hub = await hubPeers(net.id);
    expect(hub.get(created.node.publicKey)).toBe(psk);
    expect(hub.get((await view(agent.id)).publicKey)).toBe(agentPsk);
    // A node with its own key pair that is not an agent gets it too (its owner downloads the config).
    const own = await createNode(t, net.id, { publicKey: generateKeyPair().publicKey });
    expect(own.node.hasPresharedKey).toBe(true);
    // The hash taken at enrollment is the one a refresh computes: no needless new version.
    const versions = async () =>
      Promise.all([created.node.id, agent.id, own.node.id].map(async (id) => (await view(id)).configVersion));
    const before = await versions();
    await t.platform.services.configs.pushConfigs(net.id);
    expect(await versions()).toEqual(before);
  });

  it("in a mesh with `all`: each pair has one key, the same at both ends, and a rotation changes every key", async () => {
    const net = await createNetwork(t, { topology: "mesh", presharedKeys: "all" });
    const nodes = [await agentNode(t, net.id), await agentNode(t, net.id), await agentNode(t, net.id)];
    const keys = await Promise.all(nodes.map(async (n) => (await view(n.id)).publicKey as string));
    const configs = await Promise.all(nodes.map(async (n) => peerKeys(await configOf(n))));
    const pair = (i: number, j: number) => configs[i]!.get(keys[j]!);
    for (const [i, j] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      expect(Buffer.from(pair(i, j)!, "base64")).toHaveLength(32);
      expect(pair(i, j)).toBe(pair(j, i));
    }
    const all = [pair(0, 1), pair(0, 2), pair(1, 2), ...configs.map((c) => c.get(net.hubPublicKey))];
    expect(new Set(all).size).toBe(6);
    const versions = await Promise.all(nodes.map(async (n) => (await view(n.id)).configVersion));

    const res = await t.request(`/api/v1/networks/${net.id}/psk/rotate`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    expect(body).toMatchObject({
      nodesKeyed: 3,
      reissued: [],
      network: { id: net.id, presharedKeys: "all" },
    });
    const after = await Promise.all(nodes.map(async (n) => peerKeys(await configOf(n))));
    const pairAfter = (i: number, j: number) => after[i]!.get(keys[j]!);
    for (const [i, j] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      expect(pairAfter(i, j)).toBe(pairAfter(j, i));
      expect(pairAfter(i, j)).not.toBe(pair(i, j));
    }
    for (const [i, n] of nodes.entries()) {
      expect(after[i]!.get(net.hubPublicKey)).not.toBe(configs[i]!.get(net.hubPublicKey));
      expect((await view(n.id)).configVersion).toBe(versions[i]! + 1);
    }
    const hub = await hubPeers(net.id);
    expect(keys.map((k, i) => hub.get(k) === after[i]!.get(net.hubPublicKey))).toEqual([true, true, true]);
  });

  it("from `all` to `hub` drops the pair keys; to `off` keeps the hub keys and gives none to new nodes", async () => {
    const net = await createNetwork(t, { topology: "mesh", presharedKeys: "all" });
    const [a, b] = [await agentNode(t, net.id), await agentNode(t, net.id)];
    const bKey = (await view(b.id)).publicKey;
    const hubPsk = peerKeys(await configOf(a)).get(net.hubPublicKey);
    expect(peerKeys(await configOf(a)).get(bKey)).toBeDefined();
    const patch = (presharedKeys: string) =>
      t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { presharedKeys } });
    expect((await patch("hub")).status).toBe(200);
    expect(peerKeys(await configOf(a)).get(bKey)).toBeUndefined();
    expect(peerKeys(await configOf(a)).get(net.hubPublicKey)).toBe(hubPsk);
    expect((await patch("off")).status).toBe(200);
    expect(peerKeys(await configOf(a)).get(net.hubPublicKey)).toBe(hubPsk);
    const late = await agentNode(t, net.id);
    expect((await view(late.id)).hasPresharedKey).toBe(false);
    // Rotating with the setting off rotates the keys nodes still have, and gives none to others.
    const rotated = (await json(await t.request(`/api/v1/networks/${net.id}/psk/rotate`, { method: "POST" })))
      .data;
    expect(rotated.nodesKeyed).toBe(2);
    expect((await view(late.id)).hasPresharedKey).toBe(false);
    expect(peerKeys(await configOf(a)).get(net.hubPublicKey)).not.toBe(hubPsk);
  });
});
