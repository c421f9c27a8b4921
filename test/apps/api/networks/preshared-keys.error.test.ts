/** Bad requests about a network's preshared keys: a 4xx problem, and nothing changes. */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { networks, nodes } from "../../../../src/db/index.js";
import { json } from "../../../support/http.js";
import { createNetwork } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { agentNode } from "../../../support/rekey-support.js";

describe("network preshared keys errors", () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const state = async (networkId: string) => ({
    network: (await t.db.database.db.select().from(networks).where(eq(networks.id, networkId)))[0],
    nodes: await t.db.database.db.select().from(nodes).where(eq(nodes.networkId, networkId)),
  });

  it("refuses to rotate a network without preshared keys: 409, and no config changes", async () => {
    const net = await createNetwork(t, { topology: "mesh" });
    await agentNode(t, net.id);
    const before = await state(net.id);
    const res = await t.request(`/api/v1/networks/${net.id}/psk/rotate`, { method: "POST" });
    expect(res.status).toBe(409);
    expect((await json(res)).error.code).toBe("CONFLICT");
    expect(await state(net.id)).toEqual(before);
  });

  it("refuses to remove one node's key while the network gives every node one: 409, nothing changes", async () => {
    const net = await createNetwork(t, { topology: "hub" });
    const node = await agentNode(t, net.id);
    const on = await t.request(`/api/v1/networks/${net.id}`, {
      method: "PATCH",
      body: { presharedKeys: "hub" },
    });
    expect(on.status).toBe(200);
    const before = await state(net.id);
    expect(before.nodes.find((n) => n.id === node.id)?.presharedKeyEnc).not.toBeNull();
    const res = await t.request(`/api/v1/nodes/${node.id}/psk`, { method: "DELETE" });
    expect(res.status).toBe(409);
    const problem = (await json(res)).error;
    expect(problem.code).toBe("CONFLICT");
    expect(problem.message).toContain('presharedKeys "hub"');
    expect(await state(net.id)).toEqual(before);
  });

  it("answers 404 for an unknown network and 400 for a malformed id", async () => {
    const unknown = await t.request("/api/v1/networks/00000000-0000-4000-8000-000000000000/psk/rotate", {
      method: "POST",
    });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.code).toBe("NETWORK_NOT_FOUND");
    expect((await t.request("/api/v1/networks/nope/psk/rotate", { method: "POST" })).status).toBe(400);
  });

  it("refuses an unknown mode on PATCH and create: 400, nothing written", async () => {
    const net = await createNetwork(t);
    await agentNode(t, net.id);
    const before = await state(net.id);
    for (const presharedKeys of ["on", true, null, "ALL"]) {
      const res = await t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { presharedKeys } });
      expect(res.status).toBe(400);
      expect((await json(res)).error.code).toBe("VALIDATION_FAILED");
    }
    expect(await state(net.id)).toEqual(before);
    const count = (await t.db.database.db.select().from(networks)).length;
    const created = await t.request("/api/v1/networks", {
      method: "POST",
      body: { name: "bad-psk", cidr4: "10.250.0.0/24", presharedKeys: "mesh" },
    });
    expect(created.status).toBe(400);
    expect((await t.db.database.db.select().from(networks)).length).toBe(count);
  });
});
