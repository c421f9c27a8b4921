/**
 * The node protocol accepts what decentralised-VPN nodes send: NAT types in their own spellings,
 * metrics under their own names, a client-chosen node id and the agent's version, and keeps one
 * canonical form in the database and in the API's answers.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { json } from "../../../support/http.js";
import { createEnrollmentKey, createNetwork, heartbeat, registerNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("the node protocol's spellings", () => {
  let t: TestPlatform;
  let key: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    const net = await createNetwork(t, { topology: "mesh" });
    key = await createEnrollmentKey(t, net.id, { reusable: true });
  });
  afterAll(async () => {
    await t.close();
  });

  const rowOf = async (id: string) =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.id, id)))[0]!;

  it.each([
    ["FullCone", "full-cone"],
    ["full-cone", "full-cone"],
    ["full_cone", "full-cone"],
    ["Symmetric", "symmetric"],
    ["RestrictedCone", "restricted-cone"],
    ["PortRestrictedCone", "port-restricted-cone"],
    ["port restricted cone", "port-restricted-cone"],
    ["Open", "none"],
    ["None", "none"],
    ["UdpBlocked", "udp-blocked"],
    ["Unknown", "unknown"],
  ])("registers natType %j as %j, in the row, the answer and a read back", async (sent, canonical) => {
    const made = await registerNode(t, key, {
      publicKey: generateKeyPair().publicKey,
      networkInfo: { ipv4: "198.51.100.7", natType: sent },
    });
    expect(made.node.natType).toBe(canonical);
    const row = await rowOf(made.node.id);
    expect(row.natType).toBe(canonical);
    expect(row.networkInfo).toEqual({ ipv4: "198.51.100.7", natType: canonical });
    const read = await json(await t.request(`/api/v1/nodes/${made.node.id}`));
    expect(read.data.natType).toBe(canonical);
    expect(read.data.networkInfo.natType).toBe(canonical);
  });

  it("takes a client-chosen node id for a new node, and re-registers under it", async () => {
    const nodeId = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
    const { publicKey } = generateKeyPair();
    const made = await registerNode(t, key, { nodeId, publicKey, networkInfo: { natType: "FullCone" } });
    expect(made.node.id).toBe(nodeId);
    expect((await rowOf(nodeId)).publicKey).toBe(publicKey);
    const again = await registerNode(
      t,
      key,
      { nodeId, publicKey, networkInfo: { natType: "Symmetric" } },
      made.token,
    );
    expect(again.node.id).toBe(nodeId);
    expect((await rowOf(nodeId)).natType).toBe("symmetric");
  });

  it("stores a heartbeat's metrics sent under the node's names under the canonical ones, with its agent version", async () => {
    const made = await registerNode(t, key, { publicKey: generateKeyPair().publicKey });
    const id = made.node.id;
    const answer = await heartbeat(t, id, made.token, {
      metrics: { latency: 42.5, cpuUsage: 17, memoryUsage: 61, activeConnections: 9 },
      version: "1.4.2",
    });
    expect(answer.status).toBe("online");
    const row = await rowOf(id);
    expect(row.metrics).toEqual({ latencyMs: 42.5, cpu: 17, memory: 61, connections: 9 });
    expect(row.agentVersion).toBe("1.4.2");
    const read = await json(await t.request(`/api/v1/nodes/${id}`));
    expect(read.data.metrics).toEqual({ latencyMs: 42.5, cpu: 17, memory: 61, connections: 9 });
    expect(read.data.agentVersion).toBe("1.4.2");

    // The canonical names work as before; the version stays until another is named.
    await heartbeat(t, id, made.token, { metrics: { latencyMs: 8, cpu: 3, connections: 1 } });
    expect(await rowOf(id)).toMatchObject({
      metrics: { latencyMs: 8, cpu: 3, connections: 1 },
      agentVersion: "1.4.2",
    });
    await heartbeat(t, id, made.token, { agentVersion: "1.5.0", metrics: { latency: 8, latencyMs: 8 } });
    expect(await rowOf(id)).toMatchObject({ metrics: { latencyMs: 8 }, agentVersion: "1.5.0" });
  });

  it("documents both spellings in OpenAPI, and the canonical form of answers", async () => {
    const spec = await json(await t.request("/openapi.json", { key: null }));
    const text = JSON.stringify(spec);
    for (const name of ["cpuUsage", "activeConnections", "latency", "latencyMs", "agentVersion"])
      expect(text).toContain(`"${name}"`);
    expect(text).toContain("FullCone");
    expect(spec.components.schemas.Node.properties.natType.enum).toEqual([
      "none",
      "full-cone",
      "restricted-cone",
      "port-restricted-cone",
      "symmetric",
      "udp-blocked",
      "unknown",
      null,
    ]);
  });
});
