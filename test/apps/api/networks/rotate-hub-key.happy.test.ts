/**
 * A hub key rotation through the API, in two phases: the next key named in every config while agent
 * nodes confirm it, then the switch (at the last confirmation, at the deadline, or at once), after
 * which configs name the new hub key, server-held nodes' configs are reissued (email or one-time
 * link) and manual nodes are listed. Never a hub private key.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import { json } from "../../../support/http.js";
import {
  asToken,
  createEnrollmentKey,
  createNetwork,
  createNode,
  eventsOfNode,
  heartbeat,
  outboxEvents,
  registerNode,
} from "../../../support/mesh.js";
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

  const configOf = async (nodeId: string, token: string) => {
    const res = await t.request(`/api/v1/nodes/${nodeId}/config`, asToken(token));
    return { text: await res.text(), version: Number(res.headers.get("x-config-version")) };
  };

  /** An agent node: registered with its own key, and its agent reported the config it applied. */
  async function agentNode(networkId: string) {
    const key = await createEnrollmentKey(t, networkId);
    const reg = await registerNode(t, key, { publicKey: generateKeyPair().publicKey });
    const { version } = await configOf(reg.node.id, reg.token);
    await heartbeat(t, reg.node.id, reg.token, { configVersion: version });
    return { id: reg.node.id as string, name: reg.node.name as string, token: reg.token as string };
  }

  const rotate = (networkId: string, query = "") =>
    t.request(`/api/v1/networks/${networkId}/rotate-hub-key${query}`, { method: "POST" });
  const status = async (networkId: string) =>
    (await json(await t.request(`/api/v1/networks/${networkId}/hub-key-rotation`))).data;

  it("switches at once when no agent must confirm: configs reissued by email or link, manual nodes listed", async () => {
    const net = await createNetwork(t);
    const mailed = await createNode(t, net.id, { email: "owner@example.com" });
    const linked = await createNode(t, net.id);
    const own = await createNode(t, net.id, { publicKey: generateKeyPair().publicKey });
    const res = await rotate(net.id);
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    expect(body.state).toMatchObject({ pending: false, nextHubPublicKey: null, waiting: [], manual: [] });
    const { switched } = body;
    expect(switched.previousHubPublicKey).toBe(net.hubPublicKey);
    expect(switched.network.hubPublicKey).not.toBe(net.hubPublicKey);
    expect(body.state.hubPublicKey).toBe(switched.network.hubPublicKey);
    expect(switched.manual).toEqual([{ nodeId: own.node.id, name: own.node.name }]);
    const byId = new Map(switched.reissued.map((r: { nodeId: string }) => [r.nodeId, r]));
    expect(byId.size).toBe(2);
    expect(byId.get(mailed.node.id)).toEqual({
      nodeId: mailed.node.id,
      name: mailed.node.name,
      emailQueuedTo: "owner@example.com",
    });
    const link = (byId.get(linked.node.id) as { configLink: { url: string } }).configLink;
    const url = new URL(link.url);
    const config = await (await t.request(`${url.pathname}${url.search}`, { key: null })).text();
    expect(config).toContain(`PublicKey = ${switched.network.hubPublicKey}`);
    for (const { node, token } of [mailed, linked, own]) {
      const view = (await json(await t.request(`/api/v1/nodes/${node.id}`))).data;
      expect(view.configVersion).toBe(node.configVersion + 1);
      const current = (await configOf(node.id, token)).text;
      expect(current).toContain(`PublicKey = ${switched.network.hubPublicKey}`);
      expect(current).not.toContain(net.hubPublicKey);
      expect(current).not.toContain("NextHubPublicKey");
    }
    const mailedEvents = (await eventsOfNode(t, mailed.node.id)).filter((e) => e.type === "node.updated");
    expect(mailedEvents.map((e) => e.data.newConfig)).toEqual([true]);
    expect((await eventsOfNode(t, linked.node.id)).filter((e) => e.type === "node.updated")).toHaveLength(0);
    const rotated = (await outboxEvents(t, "network.hub-key-rotated")).filter(
      (e) => (e.data.network as { id: string }).id === net.id,
    );
    expect(rotated).toHaveLength(1);
    expect(rotated[0]!.data).toMatchObject({
      reason: "confirmed",
      hubPublicKey: switched.network.hubPublicKey,
    });
  });

  it("waits for every agent node to apply the next key, then switches at its heartbeat", async () => {
    const net = await createNetwork(t);
    const a = await agentNode(net.id);
    const b = await agentNode(net.id);
    const held = await createNode(t, net.id, { email: "held@example.com" });
    const own = await createNode(t, net.id, { publicKey: generateKeyPair().publicKey });
    const before = await configOf(a.id, a.token);

    const res = await rotate(net.id, "?deadlineSeconds=120");
    expect(res.status).toBe(202);
    const body = (await json(res)).data;
    expect(body.switched).toBeUndefined();
    const state = body.state;
    expect(state).toMatchObject({
      networkId: net.id,
      pending: true,
      hubPublicKey: net.hubPublicKey,
      confirmed: 0,
      serverHeld: [{ nodeId: held.node.id, name: held.node.name }],
      manual: [{ nodeId: own.node.id, name: own.node.name }],
    });
    const next = state.nextHubPublicKey as string;
    expect(next).not.toBe(net.hubPublicKey);
    const deadlineIn = Date.parse(state.deadline) - Date.parse(state.startedAt);
    expect(deadlineIn).toBe(120_000);
    expect(state.waiting.map((w: { nodeId: string }) => w.nodeId).sort()).toEqual([a.id, b.id].sort());
    expect(state.waiting.find((w: { nodeId: string }) => w.nodeId === a.id)).toEqual({
      nodeId: a.id,
      name: a.name,
      configVersion: before.version + 1,
      appliedConfigVersion: before.version,
    });
    expect(await status(net.id)).toEqual(state);
    expect((await json(await t.request(`/api/v1/networks/${net.id}`))).data.nextHubPublicKey).toBe(next);

    // The agent's config still names the current hub key as its peer, and the next one in a comment.
    const during = await configOf(a.id, a.token);
    expect(during.version).toBe(before.version + 1);
    expect(during.text).toContain(`PublicKey = ${net.hubPublicKey}`);
    expect(during.text).toContain(`# NextHubPublicKey = ${next}`);

    // A second rotation while one is under way is refused, and changes nothing.
    const again = await rotate(net.id);
    expect(again.status).toBe(409);
    expect((await json(again)).code).toBe("HUB_KEY_ROTATION_PENDING");
    expect((await status(net.id)).nextHubPublicKey).toBe(next);

    // One agent confirms: still waiting for the other.
    await heartbeat(t, a.id, a.token, { configVersion: during.version });
    expect(await status(net.id)).toMatchObject({ pending: true, confirmed: 1, waiting: [{ nodeId: b.id }] });
    // The other confirms: the hub key switches.
    await heartbeat(t, b.id, b.token, { configVersion: (await configOf(b.id, b.token)).version });
    const after = await status(net.id);
    expect(after).toEqual({
      networkId: net.id,
      pending: false,
      hubPublicKey: next,
      nextHubPublicKey: null,
      startedAt: null,
      deadline: null,
      waiting: [],
      confirmed: 0,
      serverHeld: [],
      manual: [],
    });
    const switchedConfig = await configOf(a.id, a.token);
    expect(switchedConfig.version).toBe(during.version + 1);
    expect(switchedConfig.text).toContain(`PublicKey = ${next}`);
    expect(switchedConfig.text).not.toContain(net.hubPublicKey);
    expect(switchedConfig.text).not.toContain("NextHubPublicKey");
    const audits = await t.db.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, net.id), eq(auditLog.action, "network.hub-key-rotated")));
    expect(audits).toHaveLength(1);
    expect(audits[0]!.details).toMatchObject({
      previousHubPublicKey: net.hubPublicKey,
      hubPublicKey: next,
      reason: "confirmed",
      unconfirmed: [],
      manual: [own.node.id],
    });
    const heldEvents = (await eventsOfNode(t, held.node.id)).filter((e) => e.type === "node.updated");
    expect(heldEvents.map((e) => e.data.newConfig)).toEqual([true]);
  });

  it("switches at the deadline (the scheduler's tick) with agents unconfirmed", async () => {
    const net = await createNetwork(t);
    const a = await agentNode(net.id);
    expect((await rotate(net.id, "?deadlineSeconds=60")).status).toBe(202);
    const { rekey } = t.platform.services;
    expect(await rekey.switchDueHubKeys(new Date(Date.now() + 30_000))).toEqual([]);
    expect((await status(net.id)).pending).toBe(true);
    expect(await rekey.switchDueHubKeys(new Date(Date.now() + 61_000))).toEqual([net.id]);
    const after = await status(net.id);
    expect(after.pending).toBe(false);
    const audit = await t.db.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, net.id), eq(auditLog.action, "network.hub-key-rotated")));
    expect(audit.map((r) => r.details)).toMatchObject([{ reason: "deadline", unconfirmed: [a.id] }]);
  });

  it("switches a rotation under way at once with ?now=true", async () => {
    const net = await createNetwork(t);
    await agentNode(net.id);
    const started = (await json(await rotate(net.id))).data.state;
    const res = await rotate(net.id, "?now=true");
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    expect(body.switched.network.hubPublicKey).toBe(started.nextHubPublicKey);
    expect(body.switched.previousHubPublicKey).toBe(net.hubPublicKey);
    expect(body.state.pending).toBe(false);
  });
});
