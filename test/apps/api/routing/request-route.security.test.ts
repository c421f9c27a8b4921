/**
 * Who may ask for a route: a node's own token for itself, or an admin. No credentials: 401; users,
 * read keys and enrollment keys: 401/403; a node asking for another node: 403.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createUser } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import { asToken, createEnrollmentKey } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import type { RelayLab } from "../../../support/routing.js";
import { createRelayLab } from "../../../support/routing.js";

describe("POST /api/v1/routing/request access", () => {
  let t: TestPlatform;
  let lab: RelayLab;
  beforeAll(async () => {
    t = await createTestPlatform();
    lab = await createRelayLab(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const ask = (init: { key?: string | null; headers?: Record<string, string> }) =>
    t.request("/api/v1/routing/request", { method: "POST", body: { clientId: lab.client.node.id }, ...init });

  it("answers 401 without credentials and to an enrollment key", async () => {
    const enrollmentKey = await createEnrollmentKey(t, lab.networkId);
    for (const init of [{ key: null }, asToken(enrollmentKey)]) {
      const res = await ask(init);
      expect(res.status).toBe(401);
      expect((await json(res)).error.code).toBe("UNAUTHENTICATED");
    }
  });

  it("answers 403 to a read key and to a user who is no admin", async () => {
    const readKey = (await createApiKey(t, ["read"])).key;
    await createUser(t, "admin@example.test");
    const user = await createUser(t, "user@example.test", { role: "user" });
    for (const init of [{ key: readKey }, asToken(user.token)]) {
      const res = await ask(init);
      const body = await json(res);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(body.error.code).toBe("FORBIDDEN");
    }
  });

  it("answers 403 to a node asking for another node, and serves it for itself", async () => {
    const res = await ask(asToken(lab.peer.token));
    const body = await json(res);
    expect(res.status).toBe(403);
    expect(body.error.code).toBe("FORBIDDEN");
    expect(body.error.message).toContain("own node");
    expect((await ask(asToken(lab.client.token))).status).toBe(200);
    const own = await t.request("/api/v1/routing/request", {
      method: "POST",
      body: { clientId: lab.peer.node.id },
      ...asToken(lab.peer.token),
    });
    expect(own.status).toBe(200);
  });
});
