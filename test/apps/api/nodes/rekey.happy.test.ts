/**
 * Re-keying through the API: an operator's request reaches the agent in its heartbeat answer, the
 * agent's signed rotation moves the node to its new key (the old one retired, kept for the hub without
 * addresses), a retry of the same rotation answers the same; a server-held key is replaced at once
 * with a one-time link or an email to the node's owner.
 */
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLog, retiredPeers } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import { json } from "../../../support/http.js";
import { asToken, createNode, eventsOfNode, heartbeat } from "../../../support/mesh.js";
import { agentNode, rotation, useRekeySetup } from "../../../support/rekey-support.js";

describe("node re-key", () => {
  const s = useRekeySetup();

  it("asks an agent node to rotate: 202, and its heartbeats say so until it has", async () => {
    const node = await agentNode(s.t, s.networkId);
    expect((await heartbeat(s.t, node.id, node.token)).rotateKey).toBe(false);
    const res = await s.t.request(`/api/v1/nodes/${node.id}/rekey`, { method: "POST" });
    expect(res.status).toBe(202);
    const body = (await json(res)).data;
    expect(body).toMatchObject({ mode: "agent", node: { id: node.id, publicKey: node.keys.publicKey } });
    expect(body.node.keyRotationRequestedAt).toEqual(expect.any(String));
    expect((await heartbeat(s.t, node.id, node.token)).rotateKey).toBe(true);

    const next = generateKeyPair();
    const rotated = await s.t.request(`/api/v1/nodes/${node.id}/key`, {
      method: "POST",
      ...asToken(node.token),
      body: rotation(node, s.hubPublicKey, next),
    });
    expect(rotated.status).toBe(200);
    expect((await json(rotated)).data).toMatchObject({ publicKey: next.publicKey, hubApplied: false });
    expect((await heartbeat(s.t, node.id, node.token)).rotateKey).toBe(false);
  });

  it("moves an agent node to its new key: the old key is retired, the config names the new one, one audit row and one event", async () => {
    const node = await agentNode(s.t, s.networkId);
    const before = (await json(await s.t.request(`/api/v1/nodes/${node.id}`))).data;
    const next = generateKeyPair();
    const res = await s.t.request(`/api/v1/nodes/${node.id}/key`, {
      method: "POST",
      ...asToken(node.token),
      body: rotation(node, s.hubPublicKey, next),
    });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toEqual({
      publicKey: next.publicKey,
      configVersion: before.configVersion + 1,
      hubApplied: false,
    });
    const after = (await json(await s.t.request(`/api/v1/nodes/${node.id}`))).data;
    expect(after).toMatchObject({
      publicKey: next.publicKey,
      previousPublicKey: node.keys.publicKey,
      hasServerKey: false,
      keyRotationRequestedAt: null,
    });
    expect(after.keyRotatedAt).toEqual(expect.any(String));
    const retired = await s.t.db.database.db
      .select()
      .from(retiredPeers)
      .where(and(eq(retiredPeers.networkId, s.networkId), eq(retiredPeers.publicKey, node.keys.publicKey)));
    expect(retired).toHaveLength(1);
    const config = await (await s.t.request(`/api/v1/nodes/${node.id}/config`, asToken(node.token))).text();
    expect(config).toContain(`its public key is ${next.publicKey}`);
    const audits = await s.t.db.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, node.id), eq(auditLog.action, "node.key-rotated")));
    expect(audits).toHaveLength(1);
    expect(audits[0]!.details).toEqual({
      previousPublicKey: node.keys.publicKey,
      publicKey: next.publicKey,
      by: "agent",
    });
    const updates = (await eventsOfNode(s.t, node.id)).filter((e) => e.type === "node.updated");
    expect(updates).toHaveLength(1);
    expect(updates[0]!.data).toMatchObject({ keyRotated: "agent", changed: ["publicKey"] });
  });

  it("answers a repeated rotation (a lost answer) the same, and changes nothing more", async () => {
    const node = await agentNode(s.t, s.networkId);
    const body = rotation(node, s.hubPublicKey, generateKeyPair());
    const send = () =>
      s.t.request(`/api/v1/nodes/${node.id}/key`, { method: "POST", ...asToken(node.token), body });
    const first = await json(await send());
    const again = await send();
    expect(again.status).toBe(200);
    expect((await json(again)).data).toEqual(first.data);
    const updates = (await eventsOfNode(s.t, node.id)).filter((e) => e.type === "node.updated");
    expect(updates).toHaveLength(1);
  });

  it("re-keys a server-held node without an email: a new key and a one-time link to its new config, never the key itself", async () => {
    const { node } = await createNode(s.t, s.networkId);
    const res = await s.t.request(`/api/v1/nodes/${node.id}/rekey`, { method: "POST" });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("PrivateKey");
    const body = JSON.parse(text).data;
    expect(body.mode).toBe("server");
    expect(body.node.publicKey).not.toBe(node.publicKey);
    expect(body.node.previousPublicKey).toBe(node.publicKey);
    expect(body.emailQueuedTo).toBeUndefined();
    const url = new URL(body.configLink.url);
    const config = await (await s.t.request(`${url.pathname}${url.search}`, { key: null })).text();
    expect(config).toMatch(/^PrivateKey = /m);
    expect(config).not.toContain(`its public key is`);
    const updates = (await eventsOfNode(s.t, node.id)).filter((e) => e.type === "node.updated");
    expect(updates.map((e) => e.data.keyRotated)).toEqual(["server"]);
  });

  it("re-keys a server-held node with an email: the new config goes by email (the event that queues it), no link", async () => {
    const { node } = await createNode(s.t, s.networkId, { email: "owner@example.com" });
    const res = await s.t.request(`/api/v1/nodes/${node.id}/rekey`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    expect(body).toMatchObject({ mode: "server", emailQueuedTo: "owner@example.com" });
    expect(body.configLink).toBeUndefined();
    const updates = (await eventsOfNode(s.t, node.id)).filter((e) => e.type === "node.updated");
    expect(updates).toHaveLength(1);
    expect(updates[0]!.data).toMatchObject({
      keyRotated: "server",
      node: { email: "owner@example.com", hasServerKey: true },
    });
  });
});
