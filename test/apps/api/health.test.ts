import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlatformApp } from "../../../apps/api/app.js";
import { json } from "../../support/http.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

describe("health endpoints", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("GET /health answers status and timestamp without credentials", async () => {
    const res = await t.request("/health", { key: null });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.status).toBe("ok");
    expect(Date.parse(body.timestamp)).not.toBeNaN();
  });

  it("GET /health/live answers ok", async () => {
    const res = await t.request("/health/live", { key: null });
    expect(await json(res)).toEqual({ status: "ok" });
  });

  it("GET /health/ready is 200 when Postgres and Redis answer", async () => {
    const res = await t.request("/health/ready", { key: null });
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body.checks.postgres.ok).toBe(true);
    expect(body.checks.redis.ok).toBe(true);
  });

  it("every response carries a request id", async () => {
    const res = await t.request("/health", { key: null });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("GET /metrics exposes process metrics and counts requests by route pattern", async () => {
    await t.request("/api/v1/sync/status/00000000-0000-4000-8000-000000000000");
    const text = await (await t.request("/metrics", { key: null })).text();
    expect(text).toContain("wiresync_process_cpu_user_seconds_total");
    expect(text).toMatch(
      /wiresync_http_requests_total\{[^}]*route="\/api\/v1\/sync\/status\/:id"[^}]*status="404"/,
    );
    expect(text).toContain("wiresync_http_request_duration_seconds_bucket");
  });

  it("GET /metrics answers only to the bearer token when METRICS_TOKEN is set", async () => {
    const token = "prometheus-scrape-token-0123";
    const app = createPlatformApp(t.platform, 3600, { metricsToken: token });
    const scrape = (authorization?: string) =>
      app.request("/metrics", authorization ? { headers: { Authorization: authorization } } : {});
    for (const bad of [undefined, `Bearer ${token.slice(1)}`, `Basic ${token}`, token, "Bearer "]) {
      const res = await scrape(bad);
      expect(res.status, String(bad)).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      const body = await json(res);
      expect(body.error.code).toBe("UNAUTHENTICATED");
      expect(JSON.stringify(body)).not.toContain(token);
    }
    const ok = await scrape(`Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("wiresync_process_cpu_user_seconds_total");
    // Nothing else changes: health stays open, the API still wants its own credentials.
    expect((await app.request("/health")).status).toBe(200);
    expect(
      (await app.request("/api/v1/networks", { headers: { Authorization: `Bearer ${token}` } })).status,
    ).toBe(401);
  });

  it("serves the OpenAPI document and the docs page", async () => {
    const doc = await json(await t.request("/openapi.json", { key: null }));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/v1/sync/full");
    expect(doc.components.schemas.Problem).toBeDefined();
    const page = await t.request("/docs", { key: null });
    expect(await page.text()).toContain("/docs/init.js");
    expect(await (await t.request("/docs/init.js", { key: null })).text()).toContain('url: "/openapi.json"');
    const asset = await t.request("/docs/assets/swagger-ui-bundle.js", { key: null });
    expect(asset.status).toBe(200);
  });
});

describe("/health/ready with a dependency down", () => {
  it("is 503 naming redis when Redis does not answer", async () => {
    const t = await createTestPlatform({ redisUrl: "redis://127.0.0.1:1" });
    try {
      const res = await t.request("/health/ready", { key: null });
      expect(res.status).toBe(503);
      const body = await json(res);
      expect(body.failed).toEqual(["redis"]);
      // Named, without the driver's message or the address it could not reach.
      expect(body.checks.redis).toEqual({ ok: false, latencyMs: expect.any(Number), error: "unavailable" });
      expect(body.detail).toBe("redis: unavailable");
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|connect|redis:\/\//);
      expect(body.checks.postgres.ok).toBe(true);
      expect(t.logs.text).toMatch(/readiness check failed/);
    } finally {
      await t.close();
    }
  });

  it("is 503 naming postgres when Postgres does not answer", async () => {
    const t = await createTestPlatform();
    try {
      await t.platform.database.close();
      const res = await t.request("/health/ready", { key: null });
      expect(res.status).toBe(503);
      const body = await json(res);
      expect(body.failed).toEqual(["postgres"]);
      expect(body.checks.postgres.error).toBe("unavailable");
      expect(body.detail).toBe("postgres: unavailable");
      expect(JSON.stringify(body)).not.toMatch(/CONNECTION_|127\.0\.0\.1|write|ended/i);
    } finally {
      await t.close().catch(() => {});
    }
  });
});
