import { STATUS_CODES } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProblemSchema, STATUS_BY_CODE } from "../../../../apps/api/http/problem.js";
import type { ErrorCode } from "../../../../src/errors.js";
import { DomainError, ERROR_CODES } from "../../../../src/errors.js";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

/** A value that must never reach a response body. */
const SECRET = "postgres://wiresync:hunter2-do-not-leak@db.internal:5432/wiresync";

describe("the code → status table", () => {
  it("covers every ErrorCode exactly once (guard: add a status when you add a code)", () => {
    expect(Object.keys(STATUS_BY_CODE).sort()).toEqual([...ERROR_CODES].sort());
  });

  it("maps the data plane's faults to 5xx, never to a client's 400", () => {
    expect(STATUS_BY_CODE.WIREGUARD_UNAVAILABLE).toBe(503);
    expect(STATUS_BY_CODE.INTERFACE_FAULT).toBe(502);
  });

  it.each(ERROR_CODES.map((code) => [code, STATUS_BY_CODE[code]] as const))(
    "maps %s to a 4xx or 5xx status (%i)",
    (_code, status) => {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    },
  );
});

describe("envelope and problem+json over HTTP", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
    // Routes that exist only in this test, to reach `onError` with errors no real route throws on demand.
    t.app.get("/test/domain-error/:code", (c) => {
      const code = c.req.param("code") as ErrorCode;
      throw new DomainError(code, `a ${code} happened`, { context: { id: "abc" } });
    });
    t.app.get("/test/unexpected", () => {
      throw new Error(`connect failed for ${SECRET}`);
    });
  });
  afterAll(async () => {
    await t.close();
  });

  async function expectProblem(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = await json(res);
    expect(ProblemSchema.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({
      title: expect.any(String),
      status,
      success: false,
      code,
      error: { code, message: body.detail },
    });
    expect(body.type).toMatch(/^https:\/\//);
    expect(body.instance).toBe(res.headers.get("x-request-id"));
    expect(body.instance).toMatch(/^[0-9a-f-]{36}$/);
    return body;
  }

  it("wraps a success in { success: true, data }", async () => {
    const res = await t.request("/api/admin/api-keys");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await json(res)).toEqual({ success: true, data: [] });
  });

  it.each(ERROR_CODES.map((code) => [code, STATUS_BY_CODE[code]] as const))(
    "renders DomainError %s as a %i problem with its context as details",
    async (code, status) => {
      const body = await expectProblem(await t.request(`/test/domain-error/${code}`), status, code);
      // The status's own reason phrase (410 "Gone"), never a generic "Error".
      expect(body.title).toBe(STATUS_CODES[status]);
      expect(body.detail).toBe(`a ${code} happened`);
      expect(body.error.details).toEqual({ id: "abc" });
    },
  );

  it("answers a zod failure with 400 VALIDATION_FAILED listing every bad field", async () => {
    // As an admin: the route's guard answers an anonymous caller (401) before its input is read.
    const res = await t.request("/api/auth/register", {
      method: "POST",
      body: { email: "not-an-email", password: "short" },
    });
    const body = await expectProblem(res, 400, "VALIDATION_FAILED");
    const paths = body.error.details.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(["email", "password"]);
    expect(body.detail).toMatch(/^(email|password): /);
  });

  it("answers a malformed JSON body with 400, not 500", async () => {
    const res = await t.request("/api/auth/login", { method: "POST", body: '{"email": "a@b.c",', key: null });
    const body = await expectProblem(res, 400, "VALIDATION_FAILED");
    expect(body.detail).toMatch(/JSON/);
  });

  it("answers a body over the limit with 413", async () => {
    const res = await t.request("/api/v1/sync/full", {
      method: "POST",
      body: JSON.stringify({ requested_by: "x".repeat(1024 * 1024 + 1) }),
    });
    await expectProblem(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("answers an unknown route with a 404 problem", async () => {
    const body = await expectProblem(await t.request("/no/such/route", { key: null }), 404, "NOT_FOUND");
    expect(body.detail).toContain("/no/such/route");
    await expectProblem(await t.request("/api/v1/no-such-route"), 404, "NOT_FOUND");
  });

  it("turns an unexpected error into a generic 500 that leaks nothing, logged once with its stack", async () => {
    const res = await t.request("/test/unexpected", { key: null });
    const text = await res.clone().text();
    const body = await expectProblem(res, 500, "INTERNAL");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("connect failed");
    expect(text).not.toMatch(/\bat .*\.ts:\d+/);
    expect(body.detail).toContain("request id");

    const requestId = body.instance as string;
    const lines = t.logs.parsed().filter((l) => l.requestId === requestId);
    const withStack = lines.filter((l) => JSON.stringify(l).includes("at "));
    expect(withStack).toHaveLength(1);
    const logged = withStack[0] as { level: number; err: { message: string; stack: string } };
    expect(logged.level).toBe(50);
    expect(logged.err.message).toContain("connect failed");
    expect(logged.err.stack).toContain("problem.test.ts");
  });

  it("keeps a caller's X-Request-Id as the problem instance", async () => {
    const res = await t.request("/no/such/route", {
      key: null,
      headers: { "X-Request-Id": "req-from-client-1" },
    });
    expect((await json(res)).instance).toBe("req-from-client-1");
  });
});
