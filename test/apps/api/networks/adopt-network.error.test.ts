import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { createNetwork } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("adopting refuses bad input with a 4xx and changes nothing", () => {
  let t: TestPlatform;
  let net: Json;
  beforeAll(async () => {
    t = await createTestPlatform();
    net = await createNetwork(t, { cidr4: "10.78.0.0/24" });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (body: string, type = "text/plain", id = net.id) =>
    t.request(`/api/v1/networks/${id}/adopt`, { method: "POST", body, headers: { "Content-Type": type } });
  const good = `[Peer]\nPublicKey = ${generateKeyPair().publicKey}\nAllowedIPs = 10.78.0.5/32\n`;
  const count = async () =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, net.id))).length;

  it.each([
    ["an unknown key", `${good}PostUp = rm -rf /\n`, /line 4: PostUp is not a key of \[Peer\]/],
    ["a bad key", "[Peer]\nPublicKey = nope\n", /line 2: PublicKey is not a WireGuard key/],
    ["a text that is no config", "hello world", /line 1: expected "Key = value"/],
    ["a NUL in the text", `${good}\u0000`, /line 4/],
  ])("400 for a wg0.conf with %s, naming the line", async (_what, body, message) => {
    const res = await post(body);
    const payload = await json(res);
    expect(res.status).toBe(400);
    expect(payload).toMatchObject({ success: false, code: "VALIDATION_FAILED" });
    expect(payload.detail).toMatch(message);
    expect(await count()).toBe(0);
  });

  it("400 for a body that is not text/plain", async () => {
    const res = await post(JSON.stringify({ conf: good }), "application/json");
    expect(res.status).toBe(400);
    expect((await json(res)).detail).toMatch(/text\/plain/);
    expect(await count()).toBe(0);
  });

  it("400 for a dryRun that is not true or false", async () => {
    const res = await t.request(`/api/v1/networks/${net.id}/adopt?dryRun=yes`, {
      method: "POST",
      body: good,
      headers: { "Content-Type": "text/plain" },
    });
    expect(res.status).toBe(400);
    expect(await count()).toBe(0);
  });

  it("404 for a network that does not exist", async () => {
    const res = await post(good, "text/plain", "00000000-0000-4000-8000-000000000000");
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe("NETWORK_NOT_FOUND");
  });
});
