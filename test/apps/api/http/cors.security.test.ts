import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const ALLOWED = "https://app.example.com";
const OTHER = "https://evil.example.net";

const preflight = (t: TestPlatform, origin: string) =>
  t.app.request("/api/v1/networks", {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,x-api-key",
    },
  });

describe("CORS with CORS_ORIGINS set", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ http: { corsOrigins: [ALLOWED, "http://localhost:5173"] } });
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers an allowed origin's preflight with what its page may send", async () => {
    const res = await preflight(t, ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET,HEAD,POST,PUT,PATCH,DELETE");
    expect(res.headers.get("access-control-allow-headers")).toBe(
      "Authorization,Content-Type,X-API-Key,X-Request-Id",
    );
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("lets an allowed origin's page read an actual answer", async () => {
    const res = await t.request("/api/v1/networks", { headers: { origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-expose-headers")).toBe("X-Request-Id,Retry-After");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("refuses another origin's preflight with 403 and no CORS headers", async () => {
    const res = await preflight(t, OTHER);
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-methods")).toBeNull();
    const body = await res.json();
    expect(body).toMatchObject({
      status: 403,
      code: "FORBIDDEN",
      detail: `origin ${OTHER} may not call this API (see CORS_ORIGINS)`,
    });
  });

  it("gives another origin's actual request no CORS headers, so its page cannot read the answer", async () => {
    const res = await t.request("/api/v1/networks", { headers: { origin: OTHER } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("matches origins exactly (scheme, host and port)", async () => {
    for (const near of [
      "http://app.example.com",
      "https://app.example.com:8443",
      "https://x.app.example.com",
    ])
      expect((await preflight(t, near)).headers.get("access-control-allow-origin")).toBeNull();
    expect((await preflight(t, "http://localhost:5173")).headers.get("access-control-allow-origin")).toBe(
      "http://localhost:5173",
    );
  });
});

describe("CORS by default (no CORS_ORIGINS)", () => {
  it("allows no origin", async () => {
    const t = await createTestPlatform();
    try {
      const res = await preflight(t, ALLOWED);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      const actual = await t.request("/api/v1/networks", { headers: { origin: ALLOWED } });
      expect(actual.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await t.close();
    }
  });
});
