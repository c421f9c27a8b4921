import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import { createNetwork } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("usage routes refuse bad input with a 400 problem", () => {
  let t: TestPlatform;
  let networkId: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    networkId = (await createNetwork(t)).id;
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ["monthly_only is neither true nor false", "/api/v1/usage?monthly_only=yes", "monthly_only"],
    ["publicKey is not a WireGuard key", "/api/v1/usage?publicKey=not-a-key", "publicKey"],
    ["format is unknown", "/api/v1/usage?format=xml", "format"],
    ["a series names neither node nor network", "/api/v1/usage/series", "nodeId"],
    [
      "a series names both",
      `/api/v1/usage/series?nodeId=${randomUUID()}&networkId=${randomUUID()}`,
      "nodeId",
    ],
    ["a series has zero hours", `/api/v1/usage/series?networkId=${randomUUID()}&hours=0`, "hours"],
    ["a series asks beyond 744 hours", `/api/v1/usage/series?networkId=${randomUUID()}&hours=745`, "hours"],
    ["a series node is not a uuid", "/api/v1/usage/series?nodeId=42", "nodeId"],
    ["top talkers of month 13", "/api/v1/networks/NET/usage/top?month=2026-13", "month"],
    ["top talkers limit over 100", "/api/v1/networks/NET/usage/top?limit=101", "limit"],
  ])("400 when %s", async (_case, path, field) => {
    const res = await t.request(path.replace("NET", networkId));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const body = await json(res);
    expect(body).toMatchObject({ success: false, status: 400 });
    expect(JSON.stringify(body)).toContain(field);
  });

  it("404 for the top talkers of a network that does not exist", async () => {
    const res = await t.request(`/api/v1/networks/${randomUUID()}/usage/top`);
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ success: false, code: "NETWORK_NOT_FOUND" });
  });

  it.each([
    ["node", "nodeId", "NODE_NOT_FOUND"],
    ["network", "networkId", "NETWORK_NOT_FOUND"],
  ])("404 for the series of a %s that does not exist", async (_what, param, code) => {
    const res = await t.request(`/api/v1/usage/series?${param}=${randomUUID()}`);
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ success: false, code });
  });

  it("401 without credentials", async () => {
    for (const path of [
      "/api/v1/usage",
      `/api/v1/usage/series?networkId=${networkId}`,
      `/api/v1/networks/${networkId}/usage/top`,
    ]) {
      expect((await t.request(path, { key: null })).status).toBe(401);
    }
  });
});
