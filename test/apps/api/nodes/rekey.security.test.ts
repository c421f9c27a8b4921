/**
 * Who may re-key: only an admin asks for a rotation; only the node's own token (with the proof of its
 * current key) moves it to a new key. Nobody else, and no answer, log or audit row holds a private key.
 */

import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditLog, events, nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import { createApiKey } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import { asToken, createNode } from "../../../support/mesh.js";
import { agentNode, rotation, useRekeySetup } from "../../../support/rekey-support.js";

describe("node re-key access", () => {
  const s = useRekeySetup();
  let readKey: string;
  beforeAll(async () => {
    readKey = (await createApiKey(s.t, ["read"])).key;
  });

  const publicKeyOf = async (id: string) =>
    (await json(await s.t.request(`/api/v1/nodes/${id}`))).data.publicKey;

  it("lets only an admin ask for a re-key: 401 anonymous, 403 for a read key and for the node's own token", async () => {
    const node = await agentNode(s.t, s.networkId);
    const path = `/api/v1/nodes/${node.id}/rekey`;
    expect((await s.t.request(path, { method: "POST", key: null })).status).toBe(401);
    expect((await s.t.request(path, { method: "POST", key: readKey })).status).toBe(403);
    expect((await s.t.request(path, { method: "POST", ...asToken(node.token) })).status).toBe(403);
    const view = (await json(await s.t.request(`/api/v1/nodes/${node.id}`))).data;
    expect(view.keyRotationRequestedAt).toBeNull();
  });

  it("lets only the node's own token rotate its key, even with a valid proof: anonymous 401, read key, admin key and another node 403 or 404", async () => {
    const node = await agentNode(s.t, s.networkId);
    const other = await agentNode(s.t, s.networkId);
    const body = rotation(node, s.hubPublicKey, generateKeyPair());
    const path = `/api/v1/nodes/${node.id}/key`;
    expect((await s.t.request(path, { method: "POST", key: null, body })).status).toBe(401);
    expect((await s.t.request(path, { method: "POST", key: readKey, body })).status).toBe(403);
    // An admin cannot move an agent's key for it: the new private key would not be on the node.
    expect((await s.t.request(path, { method: "POST", body })).status).toBe(403);
    expect([403, 404]).toContain(
      (await s.t.request(path, { method: "POST", ...asToken(other.token), body })).status,
    );
    expect(await publicKeyOf(node.id)).toBe(node.keys.publicKey);
    expect((await s.t.request(path, { method: "POST", ...asToken(node.token), body })).status).toBe(200);
    expect(await publicKeyOf(node.id)).toBe(body.publicKey);
  });

  it("never puts a server-held node's old or new private key, or its config link, in an answer, a log line, the audit log or the events", async () => {
    const { node } = await createNode(s.t, s.networkId);
    const privateKeyOf = (config: string) => /^PrivateKey = (\S+)$/m.exec(config)![1]!;
    const before = await s.t.request(`/api/v1/nodes/${node.id}/config`);
    expect(before.status).toBe(200);
    const oldPrivateKey = privateKeyOf(await before.text());
    const res = await s.t.request(`/api/v1/nodes/${node.id}/rekey`, { method: "POST" });
    expect(res.status).toBe(200);
    const answer = await res.text();
    const link = JSON.parse(answer).data.configLink.url as string;
    const url = new URL(link);
    const linkToken = url.searchParams.get("token")!;
    expect(linkToken.length).toBeGreaterThan(16);
    const config = await (await s.t.request(`${url.pathname}${url.search}`, { key: null })).text();
    const privateKey = privateKeyOf(config);
    expect(privateKey).not.toBe(oldPrivateKey);
    const db = s.t.db.database.db;
    const auditRows = await db.select().from(auditLog).where(eq(auditLog.entityId, node.id));
    expect(auditRows.map((r) => r.action)).toContain("node.key-rotated");
    const eventRows = await db.select().from(events);
    // The re-key is in the events read here: one update of this node, its key rotated by the server.
    const rekeyed = eventRows.filter(
      (e) => e.type === "node.updated" && (e.data.node as { id: string }).id === node.id,
    );
    expect(rekeyed).toHaveLength(1);
    expect(rekeyed[0]!.data).toMatchObject({ changed: ["publicKey"], rekeyed: true, keyRotated: "server" });
    const audits = JSON.stringify(await db.select().from(auditLog));
    const eventText = JSON.stringify(eventRows);
    const rows = JSON.stringify(await db.select().from(nodes));
    const view = await (await s.t.request(`/api/v1/nodes/${node.id}`)).text();
    for (const text of [audits, eventText, s.t.logs.text, rows, view]) {
      expect(text).not.toContain(privateKey);
      expect(text).not.toContain(oldPrivateKey);
      expect(text).not.toContain(linkToken);
    }
    expect(answer).not.toContain(privateKey);
    expect(answer).not.toContain(oldPrivateKey);
  });
});
