import { createHash } from "node:crypto";
/**
 * Sessions die with the key that made them, every token carries `exp`, and the bootstrap key works
 * as `Authorization: Bearer <API_KEY>` whatever form the operator gave it.
 */
import { eq, sql } from "drizzle-orm";
import { decode } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../../../apps/api/app.js";
import { createApp } from "../../../../apps/api/app.js";
import { createAuthService, createSignInGuard } from "../../../../src/auth/index.js";
import { apiKeys } from "../../../../src/db/index.js";
import { redisStreamSlots } from "../../../../src/mesh/index.js";
import { generateBootstrapKey } from "../../../../src/secrets.js";
import { bearer, createApiKey, createUser, login, signToken } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { cookieFor, signIn, withCookie } from "./session-support.js";

const TTL_SECONDS = 3600;

/** The same installation after a restart with another `API_KEY` (same database, same JWT secret). */
function restartedWithKey(t: TestPlatform, apiKey: string): App {
  const auth = createAuthService({
    db: t.platform.database.db,
    jwtSecret: t.jwtSecret,
    jwtTtlSeconds: TTL_SECONDS,
    bootstrapApiKey: apiKey,
    signIns: createSignInGuard({ redis: t.platform.redis, prefix: t.platform.redisPrefix }),
  });
  return createApp({
    services: { ...t.platform.services, auth },
    configFeed: () => t.platform.configFeed(),
    logger: t.platform.logger,
    metrics: t.platform.metrics,
    sessionTtlSeconds: TTL_SECONDS,
    streamSlots: redisStreamSlots(t.platform.redis, t.platform.redisPrefix),
  });
}

const tokenOf = (cookie: string) => cookie.slice("wiresync_session=".length);
const mintKey = { name: "minted", scopes: ["admin"] };

describe("a session ends with the key that made it", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("refuses a bootstrap session after API_KEY is rotated: no admin key can be minted with it", async () => {
    const cookie = await cookieFor(t, t.adminKey);
    const before = await withCookie(t, cookie, "/api/admin/api-keys", { method: "POST", body: mintKey });
    expect(before.status).toBe(201);

    const newKey = generateBootstrapKey();
    const rotated = restartedWithKey(t, newKey);
    const post = (headers: Record<string, string>) =>
      rotated.request("/api/admin/api-keys", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin", ...headers },
        body: JSON.stringify(mintKey),
      });
    expect((await post({ Cookie: cookie })).status).toBe(401);
    const asBearer = await post(bearer(tokenOf(cookie)));
    expect(asBearer.status).toBe(401);
    expect((await json(asBearer)).code).toBe("UNAUTHENTICATED");
    // The new key works, and so does a session made from it.
    expect((await post({ "X-API-Key": newKey })).status).toBe(201);
    const fresh = await rotated.request("/api/auth/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ apiKey: newKey }),
    });
    const freshCookie = fresh.headers.getSetCookie()[0]!.split(";")[0]!;
    expect((await post({ Cookie: freshCookie })).status).toBe(201);
    // Exactly the three keys minted with valid credentials exist, none through the stale session.
    const rows = await t.platform.database.db.select().from(apiKeys).where(eq(apiKeys.name, "minted"));
    expect(rows).toHaveLength(3);
  });

  it("carries a fingerprint of the bootstrap key, never the key", async () => {
    const token = tokenOf(await cookieFor(t, t.adminKey));
    const { payload } = decode(token);
    expect(payload.sub).toBe("bootstrap:bootstrap");
    expect(payload.kf).toMatch(/^[0-9a-f]{16}$/);
    // Keyed by the JWT secret: the readable claim is no plain hash to guess a weak key from offline.
    expect(payload.kf).not.toBe(createHash("sha256").update(t.adminKey).digest("hex").slice(0, 16));
    expect(token).not.toContain(t.adminKey);
    expect(JSON.stringify(payload)).not.toContain(t.adminKey.slice(4, 20));
  });

  it("refuses a bootstrap token without the fingerprint, or with another one", async () => {
    for (const extra of [{}, { kf: "0000000000000000" }]) {
      const token = await signToken({ sub: "bootstrap:bootstrap", ...extra }, t.jwtSecret);
      expect((await t.request("/api/auth/me", { key: null, headers: bearer(token) })).status).toBe(401);
    }
  });

  it("refuses an API key's session once the key is revoked", async () => {
    const key = await createApiKey(t, ["admin"], "revoked-later");
    const cookie = await cookieFor(t, key.key);
    expect((await withCookie(t, cookie, "/api/admin/api-keys")).status).toBe(200);
    const revoked = await t.request(`/api/admin/api-keys/${key.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    expect((await withCookie(t, cookie, "/api/admin/api-keys")).status).toBe(401);
    const res = await t.request("/api/admin/api-keys", { key: null, headers: bearer(tokenOf(cookie)) });
    expect(res.status).toBe(401);
  });

  it("refuses an API key's session once the key has expired", async () => {
    const key = await createApiKey(t, ["admin"], "expires");
    const cookie = await cookieFor(t, key.key);
    expect((await withCookie(t, cookie, "/api/admin/api-keys")).status).toBe(200);
    await t.platform.database.db
      .update(apiKeys)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(apiKeys.id, key.id));
    expect((await withCookie(t, cookie, "/api/admin/api-keys")).status).toBe(401);
  });
});

describe("every token carries exp", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ jwtTtlSeconds: TTL_SECONDS });
  });
  afterAll(async () => {
    await t.close();
  });

  it("issues login, API-key session and bootstrap session tokens that expire after the TTL", async () => {
    await createUser(t, "admin@example.test");
    const key = await createApiKey(t, ["read"]);
    const tokens = [
      await login(t, "admin@example.test"),
      tokenOf(await cookieFor(t, key.key)),
      tokenOf(await cookieFor(t, t.adminKey)),
    ];
    for (const token of tokens) {
      const { payload } = decode(token);
      expect(typeof payload.exp).toBe("number");
      expect(typeof payload.iat).toBe("number");
      expect(payload.exp! - (payload.iat as number)).toBe(TTL_SECONDS);
    }
    // The board's `?api_key=` sign-in makes its session the same way.
    const board = await t.app.request(`/admin/queues?api_key=${encodeURIComponent(t.adminKey)}`);
    expect(board.status).toBe(303);
    const boardToken = board.headers.getSetCookie()[0]!.split(";")[0]!.split("=")[1]!;
    expect(typeof decode(boardToken).payload.exp).toBe("number");
  });

  it("refuses a correctly signed token without exp, for a user and for the bootstrap key", async () => {
    const user = await createUser(t, "noexp@example.test", { role: "admin" });
    const withExp = await signToken({ sub: `user:${user.id}`, sv: 0 }, t.jwtSecret);
    expect((await t.request("/api/auth/me", { key: null, headers: bearer(withExp) })).status).toBe(200);
    const kf = decode(tokenOf(await cookieFor(t, t.adminKey))).payload.kf;
    for (const payload of [
      { sub: `user:${user.id}`, sv: 0, exp: undefined },
      { sub: "bootstrap:bootstrap", kf, exp: undefined },
    ]) {
      const token = await signToken(payload, t.jwtSecret);
      expect(decode(token).payload).not.toHaveProperty("exp");
      const res = await t.request("/api/admin/api-keys", {
        method: "POST",
        key: null,
        headers: bearer(token),
        body: mintKey,
      });
      expect(res.status, payload.sub).toBe(401);
    }
  });
});

describe("the bootstrap key as a Bearer token", () => {
  const CONFIGURED = "a-configured-bootstrap-key-of-any-form.0123";
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ apiKey: CONFIGURED });
  });
  afterAll(async () => {
    await t.close();
  });

  it("works as `Authorization: Bearer <API_KEY>` for a key not in the wsk_ form", async () => {
    const res = await t.request("/api/admin/api-keys", {
      method: "POST",
      key: null,
      headers: bearer(CONFIGURED),
      body: { name: "via-bearer", scopes: ["read"] },
    });
    expect(res.status).toBe(201);
    const me = await json(await t.request("/api/auth/me", { key: null, headers: bearer(CONFIGURED) }));
    expect(me.data).toEqual({ kind: "bootstrap", id: "bootstrap", scopes: ["admin", "read"] });
    const wrong = await t.request("/api/auth/me", { key: null, headers: bearer(`${CONFIGURED}x`) });
    expect(wrong.status).toBe(401);
  });

  it("is not accepted as a session cookie: a cookie holds only session tokens", async () => {
    const res = await withCookie(t, `wiresync_session=${CONFIGURED}`, "/api/auth/me");
    expect(res.status).toBe(401);
  });

  it("opens a browser session like a wsk_ key", async () => {
    const signed = await signIn(t, { apiKey: CONFIGURED });
    expect(signed.status).toBe(200);
    expect(signed.body.data).toMatchObject({ kind: "bootstrap", scopes: ["admin", "read"] });
  });
});

describe("the generated bootstrap key as a Bearer token", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("works as `Authorization: Bearer <API_KEY>`", async () => {
    expect(t.adminKey).toMatch(/^wsk_/);
    const res = await t.request("/api/auth/me", { key: null, headers: bearer(t.adminKey) });
    expect(res.status).toBe(200);
    expect((await json(res)).data.kind).toBe("bootstrap");
  });
});
