/**
 * The database going away under a running API: requests answer 503 with a JSON problem and a
 * `Retry-After`, not a 500 (the request was fine; retrying it later works), change nothing, and the
 * API serves again once the database is back. The platform reaches Postgres through a TCP proxy
 * that the test stops (dropping every connection) and starts again.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_DATABASE_URL } from "../../support/env.js";
import { json } from "../../support/http.js";
import { createNetwork } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

/** A TCP proxy to `target` that can be stopped (every connection cut) and started again on its port. */
class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

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

    await proxy.start();
    // The pool reconnects by itself (after a short backoff).
    await expect
      .poll(async () => (await t.request("/api/v1/networks")).status, { timeout: 10_000 })
      .toBe(200);
    expect(await networkCount()).toBe(1);
  });
});
