/**
 * Re-registration proves possession: a node's id and public key are public, so re-registering an
 * existing node takes that node's current token. Without it nothing changes.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { bearer } from "../../../support/auth.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import {
  asToken,
  createEnrollmentKey,
  createNetwork,
  createNode,
  eventsOfNode,
  registerNode,
} from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("re-registering an existing node", () => {
  let t: TestPlatform;
  let netId: string;
  let enrollmentKey: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    netId = (await createNetwork(t, { topology: "mesh" })).id;
    enrollmentKey = await createEnrollmentKey(t, netId, { reusable: true });
  });
  afterAll(async () => {
    await t.close();
  });

  const reregister = (victim: Json, headers: Record<string, string> = {}) =>
    t.request("/api/v1/nodes/register", {
      method: "POST",
      key: null,
      headers: { ...bearer(enrollmentKey), ...headers },
      body: { nodeId: victim.node.id, publicKey: victim.node.publicKey, name: "attacker" },
    });

  const nodeRow = async (id: string) =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.id, id)))[0]!;
  const reregistrations = (id: string) =>
    t.platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "node.reregistered"), eq(auditLog.entityId, id)));
  const updatedEvents = async (id: string) =>
    (await eventsOfNode(t, id)).filter((e) => e.type === "node.updated");

  it.each([
    ["no proof", (): Record<string, string> => ({})],
    ["another node's token", (other: Json): Record<string, string> => ({ "X-Node-Token": other.token })],
  ])(
    "refuses it with %s: 403 NODE_IDENTITY_UNPROVEN, no new token, the real token keeps working",
    async (_, proof) => {
      // A server-made key pair: a taken-over token would read the node's private key.
      const victim = await createNode(t, netId, { name: `victim-${Math.random().toString(36).slice(2, 8)}` });
      const other = await createNode(t, netId);
      const before = await nodeRow(victim.node.id);

      const res = await reregister(victim, proof(other));
      expect(res.status).toBe(403);
      const body = await json(res);
      expect(body.code).toBe("NODE_IDENTITY_UNPROVEN");
      expect(body.detail).toBe(
        `re-registering node ${victim.node.id} needs its current token: send it as X-Node-Token along with the enrollment key`,
      );
      expect(JSON.stringify(body)).not.toMatch(/wsn_/);

      expect(await nodeRow(victim.node.id)).toEqual(before);
      expect(await reregistrations(victim.node.id)).toEqual([]);
      const refusals = await t.platform.database.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.action, "node.reregister-refused"), eq(auditLog.entityId, victim.node.id)));
      expect(refusals.map((r) => [r.actor, r.details])).toEqual([
        [
          `enrollment-key:${enrollmentKey.slice(0, 16)}`,
          { networkId: netId, presented: proof(other)["X-Node-Token"] ? `node:${other.node.id}` : null },
        ],
      ]);
      expect(JSON.stringify(refusals)).not.toContain(enrollmentKey);
      expect(await updatedEvents(victim.node.id)).toEqual([]);
      const config = await t.request(`/api/v1/nodes/${victim.node.id}/config`, asToken(victim.token));
      expect(config.status).toBe(200);
      expect(await config.text()).toContain("PrivateKey = ");
    },
  );

  it("refuses it with a forged node token: 401, nothing changes", async () => {
    const victim = await createNode(t, netId);
    const before = await nodeRow(victim.node.id);
    const res = await reregister(victim, { "X-Node-Token": "wsn_forged" });
    expect(res.status).toBe(401);
    expect(await nodeRow(victim.node.id)).toEqual(before);
  });

  it("lets the node itself re-register with its current token: the token rotates", async () => {
    const { publicKey } = generateKeyPair();
    const first = await registerNode(t, enrollmentKey, { name: "edge", publicKey });
    const again = await registerNode(
      t,
      enrollmentKey,
      { nodeId: first.node.id, publicKey, location: { country: "NL" } },
      first.token,
    );
    expect(again.node.id).toBe(first.node.id);
    expect(again.token).toMatch(/^wsn_/);
    expect(again.token).not.toBe(first.token);
    const old = await t.request(`/api/v1/nodes/${first.node.id}/config`, asToken(first.token));
    expect(old.status).toBe(401);
    const fresh = await t.request(`/api/v1/nodes/${first.node.id}/config`, asToken(again.token));
    expect(fresh.status).toBe(200);
    expect(await reregistrations(first.node.id)).toHaveLength(1);
  });

  it("still registers a new node (no nodeId) with the enrollment key alone", async () => {
    const made = await registerNode(t, enrollmentKey, { publicKey: generateKeyPair().publicKey });
    expect(made.token).toMatch(/^wsn_/);
  });
});
