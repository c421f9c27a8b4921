import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { createApiKey } from "../../../support/auth.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("who may adopt an interface's peers", () => {
  let t: TestPlatform;
  let net: Json;
  let node: Json;
  const psk = generateKeyPair().privateKey;
  const conf = `[Peer]\nPublicKey = ${generateKeyPair().publicKey}\nPresharedKey = ${psk}\nAllowedIPs = 10.79.0.5/32\n`;
  beforeAll(async () => {
    t = await createTestPlatform();
    net = await createNetwork(t, { cidr4: "10.79.0.0/24" });
    node = await createNode(t, net.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (auth: { key?: string | null; headers?: Record<string, string> }) =>
    t.request(`/api/v1/networks/${net.id}/adopt`, {
      method: "POST",
      body: conf,
      ...auth,
      headers: { "Content-Type": "text/plain", ...(auth.headers ?? {}) },
    });
  const count = async () =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, net.id))).length;

  it("401 without credentials, 403 for a read key and for a node's token; nothing adopted", async () => {
    expect((await post({ key: null })).status).toBe(401);
    const reader = await createApiKey(t, ["read"]);
    const read = await post({ key: reader.key });
    expect(read.status).toBe(403);
    expect((await json(read)).code).toBe("FORBIDDEN");
    expect((await post(asToken(node.token))).status).toBe(403);
    expect(await count()).toBe(1);
  });

  it("an admin adopts; the preshared key is in no answer, row or event", async () => {
    const res = await post({});
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).data.counts).toEqual({ seen: 1, adopted: 1, refused: 0 });
    expect(text).not.toContain(psk);
    const rows = await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, net.id));
    expect(JSON.stringify(rows)).not.toContain(psk);
    const events = await t.platform.database.db.execute("select data::text as d from events");
    expect(JSON.stringify(events)).not.toContain(psk);
  });
});
