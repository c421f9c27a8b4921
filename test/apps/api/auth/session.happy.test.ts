import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { cookieFor, signIn, withCookie } from "./session-support.js";

describe("browser sessions", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("turns the admin key into an HttpOnly, SameSite=Strict cookie and keeps the token out of the body", async () => {
    const signed = await signIn(t, { apiKey: t.adminKey });
    expect(signed.status).toBe(200);
    expect(signed.body.data).toMatchObject({
      kind: "bootstrap",
      name: "bootstrap key",
      scopes: ["admin", "read"],
    });
    expect(Date.parse(signed.body.data.expiresAt)).toBeGreaterThan(Date.now());
    const attributes = signed.setCookie!.split(";").map((a) => a.trim());
    expect(attributes).toEqual(
      expect.arrayContaining([
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        expect.stringMatching(/^Max-Age=3\d{3}$/),
      ]),
    );
    expect(attributes).not.toContain("Secure");
    const token = signed.cookie!.slice("wiresync_session=".length);
    expect(JSON.stringify(signed.body)).not.toContain(token);
    expect(t.logs.text).not.toContain(token);
    expect(t.logs.text).not.toContain(t.adminKey);
  });

  it("sets the Secure attribute over https", async () => {
    const signed = await signIn(t, { apiKey: t.adminKey }, { url: "https://wiresync.test/api/auth/session" });
    expect(signed.status).toBe(200);
    expect(signed.setCookie).toMatch(/; Secure/);
  });

  it("lets the cookie alone read and change the mesh from the same origin", async () => {
    const cookie = await cookieFor(t, t.adminKey);
    const me = await withCookie(t, cookie, "/api/auth/me");
    expect(me.status).toBe(200);
    expect((await json(me)).data).toMatchObject({ kind: "bootstrap", scopes: ["admin", "read"] });
    const created = await withCookie(t, cookie, "/api/v1/networks", {
      method: "POST",
      body: { name: "by-cookie", cidr4: "10.77.0.0/24" },
    });
    expect(created.status).toBe(201);
    const rows = await t.db.database.db.query.networks.findMany();
    expect(rows.map((r) => r.name)).toContain("by-cookie");
    expect((await withCookie(t, cookie, "/api/admin/audit")).status).toBe(200);
  });

  it("names a stored API key's session after the key", async () => {
    const key = await json(
      await t.request("/api/admin/api-keys", {
        method: "POST",
        body: { name: "ops laptop", scopes: ["admin"] },
      }),
    );
    const signed = await signIn(t, { apiKey: key.data.key });
    expect(signed.body.data).toMatchObject({ kind: "api-key", name: "ops laptop", scopes: ["admin"] });
    const me = await json(await withCookie(t, signed.cookie!, "/api/auth/me"));
    expect(me.data).toMatchObject({ kind: "api-key", name: "ops laptop", id: key.data.id });
  });

  it("signs a user in with email and password", async () => {
    const registered = await t.request("/api/auth/register", {
      method: "POST",
      body: { email: "Ada@Example.com", password: "correct horse battery" },
    });
    expect(registered.status).toBe(201);
    const signed = await signIn(t, { email: "ada@example.com", password: "correct horse battery" });
    expect(signed.status).toBe(200);
    expect(signed.body.data).toMatchObject({
      kind: "user",
      name: "ada@example.com",
      scopes: ["admin", "read"],
    });
    const me = await json(await withCookie(t, signed.cookie!, "/api/auth/me"));
    expect(me.data).toMatchObject({ email: "ada@example.com", role: "admin" });
  });

  it("signs out by clearing the cookie, with or without a session", async () => {
    const cookie = await cookieFor(t, t.adminKey);
    for (const headers of [{ Cookie: cookie }, {}] as Record<string, string>[]) {
      const res = await t.app.request("/api/auth/session", { method: "DELETE", headers });
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ success: true, data: { signedIn: false } });
      const cleared = res.headers.getSetCookie().find((c) => c.startsWith("wiresync_session="));
      expect(cleared).toMatch(/^wiresync_session=;/);
      expect(cleared).toMatch(/Max-Age=0/);
      expect(cleared).toMatch(/HttpOnly/);
    }
  });
});
