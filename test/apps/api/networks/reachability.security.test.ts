import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../../support/auth.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { asToken, createEnrollmentKey, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("who may read a network's reachability", () => {
  let t: TestPlatform;
  let net: Json;
  let node: Json;
  beforeAll(async () => {
    t = await createTestPlatform();
    net = await createNetwork(t, { topology: "mesh" });
    node = await createNode(t, net.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const path = () => `/api/v1/networks/${net.id}/reachability`;

  it("401 without credentials", async () => {
    const res = await t.request(path(), { key: null });
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ success: false, code: "UNAUTHENTICATED" });
  });

  it("401 with a wrong API key", async () => {
    expect((await t.request(path(), { key: "wsk_wrong_key_that_does_not_exist_at_all" })).status).toBe(401);
  });

  it("403 for a node's own token: it may read only its own config", async () => {
    const res = await t.request(path(), asToken(node.token));
    expect(res.status).toBe(403);
    expect((await json(res)).success).toBe(false);
  });

  it("refuses an enrollment key", async () => {
    const key = await createEnrollmentKey(t, net.id);
    expect([401, 403]).toContain((await t.request(path(), asToken(key))).status);
  });

  it("200 for a read-scoped key", async () => {
    const { key } = await createApiKey(t, ["read"]);
    const res = await t.request(path(), { key });
    expect(res.status).toBe(200);
    expect((await json(res)).data.pairs).toEqual([
      { a: "hub", b: node.node.id, lastHandshakeAt: null, status: "never" },
    ]);
  });
});
