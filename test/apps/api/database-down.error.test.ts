/**
 * The database going away under a running API: requests answer 503 with a JSON problem and a
 * `Retry-After`, not a 500 (the request was fine; retrying it later works), change nothing, and the
 * API serves again once the database is back. The platform reaches Postgres through a TCP proxy
 * that the test stops (dropping every connection) and starts again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_DATABASE_URL } from "../../support/env.js";
import { json } from "../../support/http.js";
import { createNetwork } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { TcpProxy } from "../../support/tcp-proxy.js";

describe("API while the database is unreachable", () => {
  let t: TestPlatform;
  let proxy: TcpProxy;
  const networkCount = async () => (await json(await t.request("/api/v1/networks"))).data.length as number;

  beforeAll(async () => {
    const postgres = new URL(TEST_DATABASE_URL);
    proxy = new TcpProxy({ host: postgres.hostname, port: Number(postgres.port || 5432) });
    await proxy.start();
    t = await createTestPlatform({
      databaseUrl: (url) => {
        const through = new URL(url);
        through.hostname = "127.0.0.1";
        through.port = String(proxy.port);
        return through.toString();
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
  });

  it("answers 503 with a retry hint, writes nothing, and serves again once it is back", async () => {
    await createNetwork(t, { name: "before", cidr4: "10.61.0.0/24" });
    expect(await networkCount()).toBe(1);

    await proxy.stop();
    for (const res of [
      await t.request("/api/v1/networks"),
      await t.request("/api/v1/networks", {
        method: "POST",
        body: { name: "during", cidr4: "10.62.0.0/24" },
      }),
    ]) {
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      const body = await json(res);
      expect(body).toMatchObject({ status: 503, code: "DEPENDENCY_UNAVAILABLE" });
      expect(JSON.stringify(body)).not.toMatch(/ECONN|127\.0\.0\.1|postgres/i);
    }
    expect(t.logs.text).toMatch(/the database cannot be reached/);
    // Readiness names the dependency, not the driver's message or the address it tried.
    const ready = await t.request("/health/ready", { key: null });
    expect(ready.status).toBe(503);
    const readiness = await json(ready);
    expect(readiness.failed).toEqual(["postgres"]);
    expect(readiness.detail).toBe("postgres: unavailable");
    expect(JSON.stringify(readiness)).not.toMatch(/ECONN|127\.0\.0\.1|connect/i);
    expect(JSON.stringify(readiness)).not.toContain(String(proxy.port));

    await proxy.start();
    // The pool reconnects by itself (after a short backoff).
    await expect
      .poll(async () => (await t.request("/api/v1/networks")).status, { timeout: 10_000 })
      .toBe(200);
    expect(await networkCount()).toBe(1);
  });
});
