import { afterAll, describe, expect, it } from "vitest";
import type { HttpOptions } from "../../../../apps/api/app.js";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

/** Signs a browser in with the admin key over real HTTP and returns the Set-Cookie header. */
async function sessionCookie(http: HttpOptions, headers: Record<string, string> = {}): Promise<string> {
  const t: TestPlatform = await createTestPlatform({ http });
  const server: RunningServer = await listen(t.app, 0, "127.0.0.1");
  cleanups.push(async () => {
    await server.close(100);
    await t.close();
  });
  const res = await fetch(`http://127.0.0.1:${server.port}/api/auth/session`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ apiKey: t.adminKey }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.get("set-cookie") ?? "";
  expect(cookie).toMatch(/^wiresync_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; /);
  return cookie;
}

const cleanups: (() => Promise<void>)[] = [];
const isSecure = (cookie: string) => cookie.split("; ").includes("Secure");

describe("the session cookie's Secure flag", () => {
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it("is off for plain http with no PUBLIC_URL (a local install)", async () => {
    expect(isSecure(await sessionCookie({}))).toBe(false);
  });

  it("is on when PUBLIC_URL is https, even though the proxy in front talks http to us", async () => {
    expect(isSecure(await sessionCookie({ publicUrl: "https://vpn.example.com" }))).toBe(true);
    expect(isSecure(await sessionCookie({ publicUrl: "http://vpn.example.com" }))).toBe(false);
  });

  it("follows X-Forwarded-Proto from a trusted proxy only", async () => {
    const https = { "x-forwarded-proto": "https" };
    expect(isSecure(await sessionCookie({ trustProxy: { kind: "hops", hops: 1 } }, https))).toBe(true);
    expect(
      isSecure(await sessionCookie({ trustProxy: { kind: "ranges", ranges: ["127.0.0.0/8"] } }, https)),
    ).toBe(true);
    // Not trusted: without TRUST_PROXY, or when the peer (127.0.0.1) is not in the proxy list.
    expect(isSecure(await sessionCookie({}, https))).toBe(false);
    expect(
      isSecure(await sessionCookie({ trustProxy: { kind: "ranges", ranges: ["10.0.0.0/8"] } }, https)),
    ).toBe(false);
  });
});
