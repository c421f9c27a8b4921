/**
 * What the node protocol still refuses, with 400/409 and nothing changed: unknown NAT types, the same
 * metric under two names with two values, and a client-chosen id that is another node's.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { bearer } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import {
  asToken,
  createEnrollmentKey,
  createNetwork,
  heartbeat,
  registerNode,
} from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("the node protocol's refusals", () => {
  let t: TestPlatform;
  let key: string;
  let otherKey: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    key = await createEnrollmentKey(t, (await createNetwork(t)).id, { reusable: true });
    otherKey = await createEnrollmentKey(t, (await createNetwork(t)).id, { reusable: true });
  });
  afterAll(async () => {
    await t.close();
  });

  const register = (enrollmentKey: string, body: Record<string, unknown>) =>
    t.request("/api/v1/nodes/register", { method: "POST", key: null, headers: bearer(enrollmentKey), body });
  const nodeCount = async () => (await t.platform.database.db.select().from(nodes)).length;

  it.each(["FullConeish", "cone", "symmetric-ish", ""])(
    "refuses natType %j with 400 naming the spellings",
    async (natType) => {
      const before = await nodeCount();
      const res = await register(key, { publicKey: generateKeyPair().publicKey, networkInfo: { natType } });
      const body = await json(res);
      expect(res.status).toBe(400);
      expect(body.error.code).toBe("VALIDATION_FAILED");
      expect(JSON.stringify(body)).toContain("FullCone");
      expect(await nodeCount()).toBe(before);
    },
  );

  it("refuses a metric under both names with two values, keeping the last metrics", async () => {
    const made = await registerNode(t, key, { publicKey: generateKeyPair().publicKey });
    await heartbeat(t, made.node.id, made.token, { metrics: { cpu: 5 } });
    for (const metrics of [
      { cpu: 5, cpuUsage: 6 },
      { latency: 1, latencyMs: 2 },
      { connections: 1, activeConnections: 2 },
    ]) {
      const res = await t.request(`/api/v1/nodes/${made.node.id}/heartbeat`, {
        method: "POST",
        ...asToken(made.token),
        body: { metrics },
      });
      const body = await json(res);
      expect(res.status, JSON.stringify(metrics)).toBe(400);
      expect(JSON.stringify(body)).toContain("disagree");
    }
    const res = await t.request(`/api/v1/nodes/${made.node.id}/heartbeat`, {
      method: "POST",
      ...asToken(made.token),
      body: { agentVersion: "1.0", version: "2.0" },
    });
    expect(res.status).toBe(400);
    const row = (await t.platform.database.db.select().from(nodes).where(eq(nodes.id, made.node.id)))[0]!;
    expect(row.metrics).toEqual({ cpu: 5 });
    expect(row.agentVersion).toBeNull();
  });

  it("refuses a client-chosen id that is another node's: 409 NODE_ID_TAKEN, nothing created", async () => {
    const victim = await registerNode(t, key, { publicKey: generateKeyPair().publicKey });
    const before = await nodeCount();
    // The same network with another key, and another network with the victim's own key.
    for (const [enrollmentKey, publicKey] of [
      [key, generateKeyPair().publicKey],
      [otherKey, victim.node.publicKey],
    ] as const) {
      const res = await register(enrollmentKey, { nodeId: victim.node.id, publicKey });
      const body = await json(res);
      expect(res.status, JSON.stringify(body)).toBe(409);
      expect(body.error.code).toBe("NODE_ID_TAKEN");
    }
    expect(await nodeCount()).toBe(before);
  });
});
