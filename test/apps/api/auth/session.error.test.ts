import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { sessionSetCookie, signIn, withCookie } from "./session-support.js";

describe("browser session input errors", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ["an empty body", {}, "send either apiKey, or email and password"],
    ["a key and a password", { apiKey: "wsk_x", email: "a@b.co", password: "x" }, "send either apiKey"],
    ["an email without a password", { email: "a@b.co" }, "send both email and password"],
    ["a malformed email", { email: "nope", password: "x" }, "email: must be an email address"],
    ["an unknown field", { apiKey: "wsk_x", remember: true }, "remember"],
    ["an empty key", { apiKey: "  " }, "apiKey"],
  ])("answers 400 with a problem for %s, and sets no cookie", async (_name, body, detail) => {
    const signed = await signIn(t, body);
    expect(signed.status).toBe(400);
    expect(signed.body).toMatchObject({ success: false, code: "VALIDATION_FAILED", status: 400 });
    expect(signed.body.detail).toContain(detail);
    expect(signed.setCookie).toBeUndefined();
  });

  it("answers 415 with a problem for a body that is not JSON", async () => {
    const signed = await signIn(t, "apiKey=wsk_x", {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(signed.status).toBe(415);
    expect(signed.body).toMatchObject({ success: false, status: 415 });
    expect(signed.setCookie).toBeUndefined();
  });

  it("treats a stale session cookie as no session: clears it, and still lets the browser sign in", async () => {
    const stale = "wiresync_session=eyJhbGciOiJIUzI1NiJ9.e30.bad";
    const read = await withCookie(t, stale, "/api/v1/networks");
    expect(read.status).toBe(401);
    expect((await json(read)).code).toBe("UNAUTHENTICATED");
    expect(sessionSetCookie(read)).toMatch(/^wiresync_session=;.*Max-Age=0/);

    const signed = await signIn(t, { apiKey: t.adminKey }, { headers: { Cookie: stale } });
    expect(signed.status).toBe(200);
    expect(signed.cookie).toMatch(/^wiresync_session=.{20,}/);
    expect((await withCookie(t, signed.cookie!, "/api/v1/networks")).status).toBe(200);
  });
});
