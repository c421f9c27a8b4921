/**
 * Who gets TURN credentials: a node's own token for itself, an admin for a node it names (audited).
 * Nobody else: 401 without credentials, 403 for read keys, users and a node asking for another node.
 * Without TURN_URLS the route says so (404 TURN_NOT_CONFIGURED); the secret is never in an answer.
 */
import { randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "../../../../src/db/index.js";
import { createApiKey, createUser } from "../../../support/auth.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { asToken, createEnrollmentKey, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("GET /api/v1/turn/ice access", () => {
  const secret = randomBytes(24).toString("hex");
  let t: TestPlatform;
  let node: Json;
  let other: Json;
  beforeAll(async () => {
    t = await createTestPlatform({
      turn: { urls: ["turn:turn.example.com:3478?transport=udp"], secret, ttlSeconds: 600 },
    });
    const net = await createNetwork(t);
    node = await createNode(t, net.id);
    other = await createNode(t, net.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const ice = (query: string, init: { key?: string | null; headers?: Record<string, string> } = {}) =>
    t.request(`/api/v1/turn/ice${query}`, init);
  const reads = (nodeId: string) =>
    t.platform.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "node.turn-credentials-read"), eq(auditLog.entityId, nodeId)));

  it("answers 401 without credentials and to an enrollment key", async () => {
    const enrollmentKey = await createEnrollmentKey(t, node.node.networkId);
    for (const init of [{ key: null }, asToken(enrollmentKey)]) {
      const res = await ice("", init);
      expect(res.status).toBe(401);
      expect((await json(res)).error.code).toBe("UNAUTHENTICATED");
    }
  });

  it("answers 403 to a read key and to a user who is no admin, with no username in it", async () => {
    const readKey = (await createApiKey(t, ["read"])).key;
    await createUser(t, "admin@example.test");
    const user = await createUser(t, "user@example.test", { role: "user" });
    for (const init of [{ key: readKey }, asToken(user.token)]) {
      const res = await ice(`?nodeId=${node.node.id}`, init);
      const text = await res.text();
      expect(res.status, text).toBe(403);
      expect(JSON.parse(text).error.code).toBe("FORBIDDEN");
      expect(text).not.toContain(`:${node.node.id}`);
    }
  });

  it("gives a node its own credentials only: 403 for another node's", async () => {
    const res = await ice(`?nodeId=${other.node.id}`, asToken(node.token));
    const text = await res.text();
    expect(res.status).toBe(403);
    expect(JSON.parse(text).error.code).toBe("FORBIDDEN");
    expect(text).not.toContain(`:${other.node.id}`);
    for (const query of ["", `?nodeId=${node.node.id}`]) {
      const own = await json(await ice(query, asToken(node.token)));
      expect(own.data.iceServers[0].username).toMatch(new RegExp(`^\\d+:${node.node.id}$`));
    }
    // A node's own reads are not audited (it asks on every connection).
    expect(await reads(node.node.id)).toHaveLength(0);
  });

  it("gives an admin the credentials of the node it names, audited; 400 naming none, 404 for no node", async () => {
    const res = await ice(`?nodeId=${other.node.id}`);
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body.data.iceServers).toHaveLength(1);
    expect(body.data.iceServers[0].username).toMatch(new RegExp(`^\\d+:${other.node.id}$`));
    expect(JSON.stringify(body)).not.toContain(secret);
    const audited = await reads(other.node.id);
    expect(audited).toHaveLength(1);
    expect(audited[0]!.actor).toBe("api-key:bootstrap");
    expect(JSON.stringify(audited)).not.toContain(body.data.iceServers[0].credential);

    const none = await ice("");
    expect(none.status).toBe(400);
    expect((await json(none)).error.code).toBe("VALIDATION_FAILED");
    const missing = await ice("?nodeId=00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe("NODE_NOT_FOUND");
    const bad = await ice("?nodeId=not-a-uuid");
    expect(bad.status).toBe(400);
    expect(await reads(other.node.id)).toHaveLength(1);
    expect(t.logs.text).not.toContain(secret);
  });
});

describe("GET /api/v1/turn/ice without TURN configured", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers 404 TURN_NOT_CONFIGURED naming what to set", async () => {
    const node = await createNode(t, (await createNetwork(t)).id);
    const res = await t.request("/api/v1/turn/ice", asToken(node.token));
    const body = await json(res);
    expect(res.status).toBe(404);
    expect(body.error.code).toBe("TURN_NOT_CONFIGURED");
    expect(body.error.message).toContain("TURN_URLS");
  });
});
