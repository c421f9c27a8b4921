/**
 * Routing requests: a node asks for a relay in its own client's words and gets its network's online
 * relays ranked, each with its score and reason, and those that cannot serve it with why; the same
 * request gets the same answer, from its own token or an admin.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import { asToken } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import type { RelayLab } from "../../../support/routing.js";
import { createRelayLab } from "../../../support/routing.js";

describe("POST /api/v1/routing/request", () => {
  let t: TestPlatform;
  let lab: RelayLab;
  beforeAll(async () => {
    t = await createTestPlatform();
    lab = await createRelayLab(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const ask = async (
    body: Record<string, unknown>,
    init: { key?: string | null; headers?: Record<string, string> } = {},
  ) => {
    const res = await t.request("/api/v1/routing/request", { method: "POST", body, ...init });
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(200);
    return payload.data;
  };

  it("ranks the online relays a port-restricted client can reach, explains each score, and says why the others cannot serve it", async () => {
    const body = {
      clientId: lab.client.node.id,
      requirements: { minBandwidth: 50, maxLatency: 150 },
      clientNetworkInfo: { ipv4: "198.51.100.20", natType: "PortRestrictedCone" },
    };
    const answer = await ask(body, asToken(lab.client.token));
    expect(answer.clientId).toBe(lab.client.node.id);
    expect(answer.networkId).toBe(lab.networkId);
    expect(answer.client).toEqual({ natType: "port-restricted-cone", region: "eu-west", country: "NL" });
    expect(answer.relays).toEqual([
      {
        id: lab.near.node.id,
        name: "near",
        score: 84.1,
        breakdown: { latency: 33.6, capacity: 22.5, bandwidth: 8, nat: 10, region: 10 },
        reason:
          "latency 20 ms: 33.6/35; 45 of 50 connections free: 22.5/25; 400 Mbps free: 8/20; relay NAT none: 10/10; same region eu-west: 10/10",
        publicKey: lab.near.node.publicKey,
        ip4: lab.near.node.ip4,
        endpoint: "203.0.113.10:51820",
        natType: "none",
        latencyMs: 20,
        connections: 5,
        maxConnections: 50,
        freeBandwidthMbps: 400,
      },
      {
        id: lab.far.node.id,
        name: "far",
        // 35 × (1 − 80/500) = 29.4; 25 × 10/20 = 12.5; 20 × 100/1000 = 2; full cone 9; another region 0.
        score: 52.9,
        breakdown: { latency: 29.4, capacity: 12.5, bandwidth: 2, nat: 9, region: 0 },
        reason:
          "latency 80 ms: 29.4/35; 10 of 20 connections free: 12.5/25; 100 Mbps free: 2/20; relay NAT full-cone: 9/10; other region us-east: 0/10",
        publicKey: lab.far.node.publicKey,
        ip4: lab.far.node.ip4,
        endpoint: null,
        natType: "full-cone",
        latencyMs: 80,
        connections: 10,
        maxConnections: 20,
        freeBandwidthMbps: 100,
      },
    ]);
    expect(answer.rejected).toEqual([
      {
        id: lab.symmetric.node.id,
        name: "symmetric",
        reason: "a port-restricted-cone client cannot reach a relay behind symmetric NAT",
      },
    ]);
    // Same input, same answer.
    expect(await ask(body, asToken(lab.client.token))).toEqual(answer);
  });

  it("takes the client's registered NAT type when it sends none, and requirements reorder nothing but the fit", async () => {
    // Registered FullCone: the symmetric relay is reachable, and the fastest.
    const answer = await ask({ clientId: lab.client.node.id }, asToken(lab.client.token));
    expect(answer.client.natType).toBe("full-cone");
    expect(answer.relays.map((r: { name: string; score: number }) => [r.name, r.score])).toEqual([
      // 34.7 + 25 + 20 × 1000/1000 + 3 + 10.
      ["symmetric", 92.7],
      ["near", 84.1],
      ["far", 52.9],
    ]);
    expect(answer.rejected).toEqual([]);
    const strict = await ask(
      { clientId: lab.client.node.id, requirements: { maxLatency: 20, minBandwidth: 400 } },
      asToken(lab.client.token),
    );
    expect(strict.relays.map((r: { name: string }) => r.name)).toEqual(["symmetric", "near"]);
    expect(strict.rejected).toEqual([
      {
        id: lab.far.node.id,
        name: "far",
        reason: "latency 80 ms is above the 20 ms asked; 100 Mbps free is below the 400 Mbps asked",
      },
    ]);
  });

  it("answers an admin asking for any node the same as the node itself", async () => {
    const body = { clientId: lab.client.node.id, clientNetworkInfo: { natType: "symmetric" } };
    const own = await ask(body, asToken(lab.client.token));
    const admin = await ask(body);
    expect(admin).toEqual(own);
    // Symmetric client: only relays without NAT or behind a full cone are reachable.
    expect(own.relays.map((r: { name: string }) => r.name)).toEqual(["near", "far"]);
    expect(own.rejected.map((r: { name: string }) => r.name)).toEqual(["symmetric"]);
  });
});
