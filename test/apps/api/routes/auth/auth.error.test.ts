import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, PASSWORD } from "../../../../support/auth.js";
import { json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

describe("register and login errors", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
    await createUser(t, "known@example.test");
  });
  afterAll(async () => {
    await t.close();
  });

  async function loginProblem(email: string, password: string) {
    const res = await t.request("/api/auth/login", { method: "POST", body: { email, password }, key: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    return json(res);
  }

  it("401 for a wrong password, with the same answer as for an unknown email", async () => {
    const wrong = await loginProblem("known@example.test", "not the password");
    const unknown = await loginProblem("nobody@example.test", PASSWORD);
    expect(wrong.code).toBe("INVALID_CREDENTIALS");
    expect(unknown.code).toBe(wrong.code);
    expect(unknown.detail).toBe(wrong.detail);
    expect(wrong.detail).not.toContain("known@example.test");
  });

  it("409 for an email that is taken, whatever its case", async () => {
    const res = await t.request("/api/auth/register", {
      method: "POST",
      body: { email: "KNOWN@example.test", password: PASSWORD },
    });
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe("USER_EXISTS");
  });

  it.each([
    ["a short password", { email: "a@example.test", password: "short" }, "password"],
    ["a bad email", { email: "nope", password: PASSWORD }, "email"],
    ["a two-line name", { email: "b@example.test", password: PASSWORD, name: "a\nb" }, "name"],
    ["an unknown role", { email: "c@example.test", password: PASSWORD, role: "root" }, "role"],
  ])("400 for %s, naming the field", async (_name, body, field) => {
    const res = await t.request("/api/auth/register", { method: "POST", body });
    expect(res.status).toBe(400);
    const problem = await json(res);
    expect(problem.code).toBe("VALIDATION_FAILED");
    expect(problem.error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
  });

  it("400 for a login without a password", async () => {
    const res = await t.request("/api/auth/login", {
      method: "POST",
      body: { email: "known@example.test" },
      key: null,
    });
    expect(res.status).toBe(400);
  });
});
