/**
 * Who may turn a node's preshared key on or off (admins only) and who may read it: an admin and the
 * node's own token, in the node's config. Never a read-scope key, another node's token, anonymous,
 * a node view (single or listed), the answer of the change, a log line, an event or an audit row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, events, nodes } from "../../../../src/db/index.js";
import { createApiKey } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { type AgentNode, agentNode } from "../../../support/rekey-support.js";

const pskOf = (config: string) => /^PresharedKey = (\S+)$/m.exec(config)?.[1];

describe("node preshared key access", () => {
  let t: TestPlatform;
  let networkId: string;
  let readKey: string;
  let node: AgentNode;
  let other: AgentNode;

  beforeAll(async () => {
    t = await createTestPlatform();
    networkId = (await createNetwork(t, { topology: "hub" })).id;
    readKey = (await createApiKey(t, ["read"])).key;
    node = await agentNode(t, networkId);
    other = await agentNode(t, networkId);
  });
  afterAll(async () => {
    await t.close();
  });

  const view = async (id: string) => (await json(await t.request(`/api/v1/nodes/${id}`))).data;

  it("lets only an admin turn it on or off: 401 anonymous, 403 for a read key and for the node's own token", async () => {
    const path = `/api/v1/nodes/${node.id}/psk`;
    for (const method of ["POST", "DELETE"]) {
      expect((await t.request(path, { method, key: null })).status).toBe(401);
      expect((await t.request(path, { method, key: readKey })).status).toBe(403);
      expect((await t.request(path, { method, ...asToken(node.token) })).status).toBe(403);
      expect([403, 404]).toContain((await t.request(path, { method, ...asToken(other.token) })).status);
    }
    expect((await view(node.id)).hasPresharedKey).toBe(false);
    expect(await (await t.request(`/api/v1/nodes/${node.id}/config`)).text()).not.toContain("PresharedKey");
  });

  it("shows the key to an admin and the node's own token only, in the config; nowhere else", async () => {
    const res = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "POST" });
    expect(res.status).toBe(200);
    const answer = await res.text();
    const adminConfig = await (await t.request(`/api/v1/nodes/${node.id}/config`)).text();
    const psk = pskOf(adminConfig)!;
    expect(Buffer.from(psk, "base64")).toHaveLength(32);
    // Exactly once: in the hub's [Peer] section.
    expect(adminConfig.split("PresharedKey = ")).toHaveLength(2);
    const own = await t.request(`/api/v1/nodes/${node.id}/config`, asToken(node.token));
    expect(own.status).toBe(200);
    expect(pskOf(await own.text())).toBe(psk);

    const anonymous = await t.request(`/api/v1/nodes/${node.id}/config`, { key: null });
    expect(anonymous.status).toBe(401);
    const reader = await t.request(`/api/v1/nodes/${node.id}/config`, { key: readKey });
    expect(reader.status).toBe(403);
    const another = await t.request(`/api/v1/nodes/${node.id}/config`, asToken(other.token));
    expect(another.status).toBe(404);
    // The other node's own config has no key at all.
    const otherConfig = await (
      await t.request(`/api/v1/nodes/${other.id}/config`, asToken(other.token))
    ).text();
    expect(otherConfig).not.toContain("PresharedKey");

    const single = await t.request(`/api/v1/nodes/${node.id}`, { key: readKey });
    const singleText = await single.text();
    expect(JSON.parse(singleText).data.hasPresharedKey).toBe(true);
    const list = await (await t.request(`/api/v1/nodes?networkId=${networkId}`, { key: readKey })).text();
    const listed = JSON.parse(list).data.items as { id: string; hasPresharedKey: boolean }[];
    expect(listed.map((n) => [n.id === node.id, n.hasPresharedKey]).sort()).toEqual([
      [false, false],
      [true, true],
    ]);
    const audits = JSON.stringify(await t.db.database.db.select().from(auditLog));
    expect(audits).toContain("node.preshared-key-rotated");
    const emitted = JSON.stringify(await t.db.database.db.select().from(events));
    const rows = JSON.stringify(await t.db.database.db.select().from(nodes));
    for (const text of [answer, singleText, list, audits, emitted, rows, t.logs.text])
      expect(text).not.toContain(psk);
  });

  it("seals the key at rest with the node's own associated data: another node's cannot open it", async () => {
    const [row] = (await t.db.database.db.select().from(nodes)).filter((n) => n.id === node.id);
    const sealed = row!.presharedKeyEnc!;
    const psk = pskOf(await (await t.request(`/api/v1/nodes/${node.id}/config`)).text());
    expect(t.platform.secrets.open(sealed, `node:${node.id}:psk`)).toBe(psk);
    expect(() => t.platform.secrets.open(sealed, `node:${other.id}:psk`)).toThrow();
    expect(() => t.platform.secrets.open(sealed, `node:${node.id}`)).toThrow();
  });

  it("a rotation gives a new key and a new config version; turning it off removes it; off twice is 409", async () => {
    const before = await view(node.id);
    const first = pskOf(await (await t.request(`/api/v1/nodes/${node.id}/config`)).text());
    const res = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "POST" });
    expect((await json(res)).data.node.configVersion).toBe(before.configVersion + 1);
    const second = pskOf(await (await t.request(`/api/v1/nodes/${node.id}/config`)).text());
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const off = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "DELETE" });
    expect(off.status).toBe(200);
    const offBody = (await json(off)).data;
    expect(offBody.node).toMatchObject({ hasPresharedKey: false, configVersion: before.configVersion + 2 });
    expect(await (await t.request(`/api/v1/nodes/${node.id}/config`)).text()).not.toContain("PresharedKey");
    const again = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "DELETE" });
    expect(again.status).toBe(409);
    expect((await view(node.id)).configVersion).toBe(before.configVersion + 2);
  });

  it("answers 404 for an unknown node and 400 for a malformed id, changing nothing", async () => {
    const unknown = await t.request("/api/v1/nodes/00000000-0000-4000-8000-000000000000/psk", {
      method: "POST",
    });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.code).toBe("NODE_NOT_FOUND");
    expect((await t.request("/api/v1/nodes/not-a-uuid/psk", { method: "POST" })).status).toBe(400);
    const presharedKeys = (await t.db.database.db.select().from(nodes)).map((n) => n.presharedKeyEnc);
    expect(presharedKeys).toEqual([null, null]);
  });

  it("a node whose key the server holds gets its new config by a one-time link that carries the key", async () => {
    const { node: held } = await createNode(t, networkId, { name: "held" });
    const res = await t.request(`/api/v1/nodes/${held.id}/psk`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    const url = new URL(body.configLink.url);
    const linked = await (await t.request(`${url.pathname}${url.search}`, { key: null })).text();
    const psk = pskOf(linked)!;
    expect(psk).toBe(pskOf(await (await t.request(`/api/v1/nodes/${held.id}/config`)).text()));
    expect(JSON.stringify(body)).not.toContain(psk);
  });
});
