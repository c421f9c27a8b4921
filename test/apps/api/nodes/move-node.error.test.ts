import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("moving a node refuses addresses it cannot have, and changes nothing", () => {
  let t: TestPlatform;
  let a: Json;
  let b: Json;
  let v4only: Json;
  beforeAll(async () => {
    t = await createTestPlatform();
    const net = await createNetwork(t, { cidr4: "10.84.0.0/24", cidr6: "fd84::/64" });
    a = await createNode(t, net.id, { name: "a" });
    b = await createNode(t, net.id, { name: "b" });
    const other = await createNetwork(t, { cidr4: "10.85.0.0/24" });
    v4only = await createNode(t, other.id, { name: "v4" });
  });
  afterAll(async () => {
    await t.close();
  });

  const move = (id: string, body: Record<string, unknown>) =>
    t.request(`/api/v1/nodes/${id}`, { method: "PATCH", body });

  it.each([
    ["another node's address", { ip4: "10.84.0.3" }, 409, "ADDRESS_TAKEN", /another node's address/],
    ["another node's IPv6 address", { ip6: "fd84::3" }, 409, "ADDRESS_TAKEN", /another node's address/],
    ["the hub's address", { ip4: "10.84.0.1" }, 409, "ADDRESS_TAKEN", /the hub's address/],
    [
      "an address outside the range",
      { ip4: "10.99.0.9" },
      422,
      "ADDRESS_OUTSIDE_NETWORK",
      /10\.84\.0\.0\/24/,
    ],
    ["the network address", { ip4: "10.84.0.0" }, 422, "ADDRESS_OUTSIDE_NETWORK", /not a usable address/],
    ["the broadcast address", { ip4: "10.84.0.255" }, 422, "ADDRESS_OUTSIDE_NETWORK", /not a usable address/],
    ["an IPv6 address outside the range", { ip6: "fd99::9" }, 422, "ADDRESS_OUTSIDE_NETWORK", /fd84::\/64/],
    ["a CIDR instead of an address", { ip4: "10.84.0.9/32" }, 400, "VALIDATION_FAILED", /ip4/],
    ["an IPv6 address as ip4", { ip4: "fd84::9" }, 400, "VALIDATION_FAILED", /IPv4/],
  ])("refuses %s", async (_what, patch, status, code, message) => {
    const res = await move(a.node.id, patch);
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(body).toMatchObject({ success: false, code });
    expect(JSON.stringify(body)).toMatch(message);
    const after = (await json(await t.request(`/api/v1/nodes/${a.node.id}`))).data;
    expect([after.ip4, after.ip6, after.configVersion]).toEqual([
      a.node.ip4,
      a.node.ip6,
      a.node.configVersion,
    ]);
    expect(b.node.ip4).toBe("10.84.0.3");
  });

  it("422 for an IPv6 address in a network without an IPv6 range", async () => {
    const res = await move(v4only.node.id, { ip6: "fd85::9" });
    expect(res.status).toBe(422);
    expect((await json(res)).detail).toMatch(/has no IPv6 range/);
  });
});
