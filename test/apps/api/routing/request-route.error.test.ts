/**
 * Routing requests that cannot be served answer why, with 4xx and nothing changed: no relay online
 * (404), none that fits (409, each relay's reason), bad input (400), an unknown client (404).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import type { RelayLab } from "../../../support/routing.js";
import { createRelayLab } from "../../../support/routing.js";

describe("POST /api/v1/routing/request refusals", () => {
  let t: TestPlatform;
  let lab: RelayLab;
  beforeAll(async () => {
    t = await createTestPlatform();
    lab = await createRelayLab(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const ask = (body: unknown, init: { key?: string | null; headers?: Record<string, string> } = {}) =>
    t.request("/api/v1/routing/request", { method: "POST", body, ...init });
  const snapshot = async () =>
    JSON.stringify(await t.platform.database.db.select().from(nodes).orderBy(nodes.id));

  it("answers 404 NO_RELAY_AVAILABLE in a network without an online relay", async () => {
    const net = await createNetwork(t);
    const lonely = await createNode(t, net.id);
    const res = await ask({ clientId: lonely.node.id }, asToken(lonely.token));
    const body = await json(res);
    expect(res.status).toBe(404);
    expect(body.error.code).toBe("NO_RELAY_AVAILABLE");
    expect(body.error.message).toContain(`no relay of network ${net.id} is online`);
  });

  it("answers 409 NO_RELAY_FITS with each online relay's reason when none can serve the client", async () => {
    const before = await snapshot();
    const res = await ask(
      {
        clientId: lab.client.node.id,
        requirements: { maxLatency: 4 },
        clientNetworkInfo: { natType: "Symmetric" },
      },
      asToken(lab.client.token),
    );
    const body = await json(res);
    expect(res.status).toBe(409);
    expect(body.error.code).toBe("NO_RELAY_FITS");
    expect(body.error.message).toContain("none of the 3 online relays can serve this client");
    expect(body.error.details.rejected).toEqual(
      [
        { id: lab.near.node.id, name: "near", reason: "latency 20 ms is above the 4 ms asked" },
        { id: lab.far.node.id, name: "far", reason: "latency 80 ms is above the 4 ms asked" },
        {
          id: lab.symmetric.node.id,
          name: "symmetric",
          reason:
            "latency 5 ms is above the 4 ms asked; a symmetric client cannot reach a relay behind symmetric NAT",
        },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    expect(await snapshot()).toBe(before);
  });

  it.each<[string, unknown]>([
    ["no clientId", { clientId: undefined, requirements: {} }],
    ["a clientId that is no UUID", { clientId: "node-1" }],
    ["an unknown NAT type", { clientNetworkInfo: { natType: "Conic" } }],
    ["an IPv6 address as ipv4", { clientNetworkInfo: { ipv4: "2001:db8::1" } }],
    ["a negative bandwidth", { requirements: { minBandwidth: -1 } }],
    ["a latency as text", { requirements: { maxLatency: "100" } }],
    ["an unknown field", { clientNetworkInfo: { natType: "Open", asn: 64500 } }],
    ["an array", [1]],
  ])("answers 400 VALIDATION_FAILED for %s", async (_, extra) => {
    const body = Array.isArray(extra) ? extra : { clientId: lab.client.node.id, ...(extra as object) };
    const res = await ask(body, asToken(lab.client.token));
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(400);
    expect(payload.error.code).toBe("VALIDATION_FAILED");
  });

  it("answers an admin 404 NODE_NOT_FOUND for a client that is no node", async () => {
    const res = await ask({ clientId: "00000000-0000-4000-8000-000000000000" });
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("NODE_NOT_FOUND");
  });
});
