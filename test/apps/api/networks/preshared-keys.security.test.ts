/**
 * Who changes a network's preshared keys (admins only) and who reads them: an admin and the nodes
 * whose tunnel a key protects, in their own configs. Never a read key, anonymous, another node, a
 * network or node view, an answer, an event, an audit row or a log line. An admin's download of a
 * config that carries a preshared key is audited.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, events, networks } from "../../../../src/db/index.js";
import { pairPresharedKey } from "../../../../src/mesh/index.js";
import { createApiKey } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { type AgentNode, agentNode } from "../../../support/rekey-support.js";

describe("network preshared keys access", () => {
  let t: TestPlatform;
  let readKey: string;
  let networkId: string;
  let a: AgentNode;
  let b: AgentNode;
  let c: AgentNode;
  const answers: string[] = [];

  beforeAll(async () => {
    t = await createTestPlatform();
    readKey = (await createApiKey(t, ["read"])).key;
    const net = await createNetwork(t, { topology: "mesh", presharedKeys: "all" });
    answers.push(JSON.stringify(net));
    networkId = net.id;
    [a, b, c] = [await agentNode(t, networkId), await agentNode(t, networkId), await agentNode(t, networkId)];
  });
  afterAll(async () => {
    await t.close();
  });

  const secretOf = async () => {
    const [row] = await t.db.database.db.select().from(networks).where(eq(networks.id, networkId));
    return {
      sealed: row!.presharedKeySecretEnc!,
      secret: t.platform.secrets.open(row!.presharedKeySecretEnc!, `network:${networkId}:psk`),
    };
  };
  const audits = (action: string, nodeId: string) =>
    t.db.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, action), eq(auditLog.entityId, nodeId)));

  it("lets only an admin change or rotate them: 401 anonymous, 403 read key and node token; nothing changes", async () => {
    const before = await secretOf();
    const rotate = `/api/v1/networks/${networkId}/psk/rotate`;
    const patch = { method: "PATCH", body: { presharedKeys: "off" } };
    expect((await t.request(rotate, { method: "POST", key: null })).status).toBe(401);
    expect((await t.request(rotate, { method: "POST", key: readKey })).status).toBe(403);
    expect((await t.request(rotate, { method: "POST", ...asToken(a.token) })).status).toBe(403);
    expect((await t.request(`/api/v1/networks/${networkId}`, { ...patch, key: null })).status).toBe(401);
    expect((await t.request(`/api/v1/networks/${networkId}`, { ...patch, key: readKey })).status).toBe(403);
    expect((await t.request(`/api/v1/networks/${networkId}`, { ...patch, ...asToken(a.token) })).status).toBe(
      403,
    );
    const after = await secretOf();
    expect(after.sealed).toBe(before.sealed);
    expect((await json(await t.request(`/api/v1/networks/${networkId}`))).data.presharedKeys).toBe("all");
  });

  it("seals the pair secret with the network's own associated data", async () => {
    const { sealed } = await secretOf();
    expect(() => t.platform.secrets.open(sealed, `network:${networkId}`)).toThrow();
    expect(() => t.platform.secrets.open(sealed, `node:${a.id}:psk`)).toThrow();
  });

  it("puts a pair's key in the configs of its two nodes only; never the secret; no config for others", async () => {
    const { secret } = await secretOf();
    const ab = pairPresharedKey(secret, a.id, b.id);
    const configOf = async (n: AgentNode) =>
      (await t.request(`/api/v1/nodes/${n.id}/config`, asToken(n.token))).text();
    const [ofA, ofB, ofC] = [await configOf(a), await configOf(b), await configOf(c)];
    expect(ofA).toContain(`PresharedKey = ${ab}`);
    expect(ofB).toContain(`PresharedKey = ${ab}`);
    expect(ofC).not.toContain(ab);
    for (const text of [ofA, ofB, ofC]) expect(text).not.toContain(secret);
    // Three preshared keys each: the hub's and two pairs'.
    for (const text of [ofA, ofB, ofC]) expect(text.split("PresharedKey = ")).toHaveLength(4);
    const path = `/api/v1/nodes/${a.id}/config`;
    expect((await t.request(path, { key: null })).status).toBe(401);
    expect((await t.request(path, { key: readKey })).status).toBe(403);
    expect((await t.request(path, asToken(c.token))).status).toBe(404);
    expect((await t.request(`${path}?format=qr`, { key: readKey })).status).toBe(403);
  });

  it("audits an admin's download of a config carrying preshared keys, not the node's own agent reading it", async () => {
    expect(await audits("node.preshared-key-read", a.id)).toHaveLength(0);
    const res = await t.request(`/api/v1/nodes/${a.id}/config`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("PresharedKey = ");
    expect((await t.request(`/api/v1/nodes/${a.id}/config?format=qr`)).status).toBe(200);
    const rows = await audits("node.preshared-key-read", a.id);
    expect(rows.map((r) => (r.details as { format: string }).format).sort()).toEqual(["conf", "qr"]);
    // A network without preshared keys: an agent node's config carries no secret, and no audit.
    const plain = await createNetwork(t, { topology: "mesh" });
    const p = await agentNode(t, plain.id);
    expect(await (await t.request(`/api/v1/nodes/${p.id}/config`)).text()).not.toContain("PresharedKey");
    expect(await audits("node.preshared-key-read", p.id)).toHaveLength(0);
  });

  it("shows only the mode in views and answers, and no key or secret in events, audit rows or logs", async () => {
    answers.push(
      await (await t.request(`/api/v1/networks/${networkId}/psk/rotate`, { method: "POST" })).text(),
    );
    answers.push(await (await t.request(`/api/v1/networks/${networkId}`, { key: readKey })).text());
    answers.push(await (await t.request("/api/v1/networks", { key: readKey })).text());
    answers.push(
      await (
        await t.request(`/api/v1/networks/${networkId}`, { method: "PATCH", body: { presharedKeys: "all" } })
      ).text(),
    );
    answers.push(await (await t.request(`/api/v1/nodes?networkId=${networkId}`, { key: readKey })).text());
    const single = JSON.parse(answers[2]!).data;
    expect(single.presharedKeys).toBe("all");
    expect(Object.keys(single).filter((k) => /secret|enc/i.test(k))).toEqual([]);
    const { sealed, secret } = await secretOf();
    const configs = await Promise.all(
      [a, b, c].map(async (n) => (await t.request(`/api/v1/nodes/${n.id}/config`, asToken(n.token))).text()),
    );
    const keys = new Set(
      configs.flatMap((cfg) => [...cfg.matchAll(/PresharedKey = (\S+)/g)].map((m) => m[1]!)),
    );
    expect(keys.size).toBe(6); // three hub keys, three pair keys
    const rows = JSON.stringify(await t.db.database.db.select().from(auditLog));
    expect(rows).toContain("network.preshared-keys-rotated");
    const emitted = JSON.stringify(await t.db.database.db.select().from(events));
    for (const text of [...answers, rows, emitted, t.logs.text]) {
      for (const secretText of [secret, sealed, ...keys]) expect(text).not.toContain(secretText);
    }
    expect(configs.join("\n")).not.toContain(secret);
  });
});
