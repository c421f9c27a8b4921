import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { cookieFor, signIn, withCookie } from "./session-support.js";

describe("browser session authorisation", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const createKey = async (scopes: string[]) =>
    (await json(await t.request("/api/admin/api-keys", { method: "POST", body: { name: "k", scopes } })))
      .data;

  it("answers 401 without a cookie for a wrong, revoked or node key, and never echoes it", async () => {
    const revoked = await createKey(["admin"]);
    await t.request(`/api/admin/api-keys/${revoked.id}`, { method: "DELETE" });
    for (const apiKey of [`${t.adminKey}x`, "wsk_not_a_key", revoked.key, "wsn_node_token"]) {
      const signed = await signIn(t, { apiKey });
      expect(signed.status, apiKey).toBe(401);
      expect(signed.body).toMatchObject({ code: "INVALID_CREDENTIALS" });
      expect(signed.body.detail).toBe("the API key is not valid (unknown, revoked or expired)");
      expect(JSON.stringify(signed.body)).not.toContain(apiKey);
      expect(signed.setCookie).toBeUndefined();
    }
  });

  it("answers the same 401 for a wrong password as for an unknown email", async () => {
    await t.request("/api/auth/register", {
      method: "POST",
      body: { email: "root@example.com", password: "a long enough password" },
    });
    const wrong = await signIn(t, { email: "root@example.com", password: "not the password" });
    const unknown = await signIn(t, { email: "nobody@example.com", password: "not the password" });
    for (const signed of [wrong, unknown]) {
      expect(signed.status).toBe(401);
      expect(signed.body.detail).toBe("email or password is wrong");
      expect(signed.setCookie).toBeUndefined();
    }
  });

  it("marks the cookie HttpOnly and SameSite=Strict", async () => {
    const signed = await signIn(t, { apiKey: t.adminKey });
    expect(signed.setCookie).toMatch(/; HttpOnly(;|$)/);
    expect(signed.setCookie).toMatch(/; SameSite=Strict(;|$)/);
  });

  it("clears the cookie on sign-out, after which the browser is signed out", async () => {
    const cookie = await cookieFor(t, t.adminKey);
    const out = await t.app.request("/api/auth/session", { method: "DELETE", headers: { Cookie: cookie } });
    const cleared = out.headers.getSetCookie().find((c) => c.startsWith("wiresync_session="))!;
    const next = cleared.split(";")[0]!;
    expect(next).toBe("wiresync_session=");
    expect((await withCookie(t, next, "/api/auth/me")).status).toBe(401);
  });

  it("gives a read-scoped key reads only: no changes, no admin pages", async () => {
    const reader = await createKey(["read"]);
    const signed = await signIn(t, { apiKey: reader.key });
    expect(signed.status).toBe(200);
    expect(signed.body.data.scopes).toEqual(["read"]);
    const cookie = signed.cookie!;
    expect((await withCookie(t, cookie, "/api/v1/networks")).status).toBe(200);
    const refused = [
      await withCookie(t, cookie, "/api/v1/networks", {
        method: "POST",
        body: { name: "x", cidr4: "10.9.0.0/24" },
      }),
      await withCookie(t, cookie, "/api/v1/sync/full", { method: "POST" }),
      await withCookie(t, cookie, "/api/admin/audit"),
      await withCookie(t, cookie, "/api/admin/api-keys"),
      await withCookie(t, cookie, "/admin/queues"),
    ];
    for (const res of refused) {
      expect(res.status).toBe(403);
      expect((await json(res)).code).toBe("FORBIDDEN");
    }
    expect(await t.db.database.db.query.networks.findMany()).toHaveLength(0);
  });

  it.each(["cross-site", "same-site"])("refuses changes through the cookie from a %s page", async (site) => {
    const cookie = await cookieFor(t, t.adminKey);
    const res = await withCookie(t, cookie, "/api/v1/networks", {
      method: "POST",
      body: { name: "csrf", cidr4: "10.66.0.0/24" },
      headers: { "Sec-Fetch-Site": site },
    });
    expect(res.status).toBe(403);
    expect((await json(res)).detail).toBe("a session cookie may make changes only from this site's pages");
    expect(await t.db.database.db.query.networks.findMany()).toHaveLength(0);
  });
});
