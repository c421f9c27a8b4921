/**
 * Every response carries the request id and the security headers, served over a socket (set on
 * Node's response) and in process alike: routes, 404s, problems, and the dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECURITY_HEADERS } from "../../../../apps/api/middleware/response-headers.js";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("response headers", () => {
  let t: TestPlatform;
  let server: RunningServer;
  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
  });
  afterAll(async () => {
    await server?.close(1_000);
    await t?.close();
  });

  const viaSocket = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${server.port}${path}`, { headers });
  const inProcess = (path: string, headers: Record<string, string> = {}) => t.app.request(path, { headers });

  it.each([
    ["over a socket", viaSocket],
    ["in process", inProcess],
  ])("sets the security headers and a request id on every kind of answer, %s", async (_, send) => {
    const answers = await Promise.all([
      send("/health/live"),
      send("/no/such/route"),
      send("/api/v1/networks"),
      send("/api/v1/networks", { "X-API-Key": "wsk_wrong" }),
      send("/openapi.json"),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 404, 401, 401, 200]);
    const ids = new Set<string>();
    for (const res of answers) {
      for (const [name, value] of SECURITY_HEADERS) expect(res.headers.get(name), name).toBe(value);
      expect(res.headers.get("cross-origin-resource-policy")).toBeNull();
      expect(res.headers.get("cross-origin-opener-policy")).toBeNull();
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      ids.add(res.headers.get("x-request-id")!);
      await res.arrayBuffer();
    }
    expect(ids.size).toBe(answers.length);
  });

  it.each([
    ["over a socket", viaSocket],
    ["in process", inProcess],
  ])(
    "keeps a caller's plain request id, in the header and the problem's instance, and replaces others, %s",
    async (_, send) => {
      const kept = await send("/no/such/route", { "X-Request-Id": "abc-123_x=" });
      expect(kept.headers.get("x-request-id")).toBe("abc-123_x=");
      expect(((await kept.json()) as { instance: string }).instance).toBe("abc-123_x=");
      for (const bad of ["has space", "x".repeat(256), "a;b"]) {
        const res = await send("/health/live", { "X-Request-Id": bad });
        expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
        await res.arrayBuffer();
      }
    },
  );
});
