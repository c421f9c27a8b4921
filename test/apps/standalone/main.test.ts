import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TEST_REDIS_URL } from "../../support/env.js";
import type { Json } from "../../support/http.js";
import { deletePrefix, testPrefix } from "../../support/redis.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { freePort, spawnEntry } from "../../support/spawn.js";

/** `npm start`, without the npm: the standalone entry with nothing configured but where to listen. */
describe("npm start (apps/standalone/main.ts)", () => {
  let dataDir: string;
  const prefix = testPrefix();
  const children: SpawnedProcess[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-standalone-"));
  });
  afterAll(async () => {
    for (const child of children) await child.stop();
    await rm(dataDir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  async function start(redisUrl: string) {
    const port = await freePort();
    const child = spawnEntry("apps/standalone/main.ts", {
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      DATABASE_URL: undefined,
      API_KEY: undefined,
      JWT_SECRET: undefined,
      ENCRYPTION_KEY: undefined,
      PUBLIC_URL: undefined,
    });
    children.push(child);
    await child.waitForOutput(/wiresync is running/, 100_000);
    const base = `http://127.0.0.1:${port}`;
    return { child, base };
  }

  async function get(url: string, key?: string): Promise<{ status: number; body: Json }> {
    const res = await fetch(url, { headers: key ? { "X-API-Key": key } : {} });
    return { status: res.status, body: await res.json() };
  }

  async function stop(child: SpawnedProcess) {
    child.child.kill("SIGTERM");
    expect(await child.waitForExit(15_000), child.stderr).toEqual({ code: 0, signal: null });
  }

  it("first start: prints the admin key once and the URLs, serves the embedded database, runs a sync", async () => {
    const { child, base } = await start(TEST_REDIS_URL);
    expect(child.stdout).toContain("embedded database");
    for (const url of ["/api/v1", "/docs", "/admin/queues?api_key=", "/health/ready"]) {
      expect(child.stdout).toContain(`${base}${url}`);
    }
    const printed = child.stdout.match(/Admin API key \(shown once[^\n]*\n\s+(wsk_\S+)/)?.[1];
    expect(printed, child.stdout).toBeDefined();

    const secretsFile = path.join(dataDir, "secrets.json");
    expect((await stat(secretsFile)).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(await readFile(secretsFile, "utf8"));
    expect(secrets.apiKey).toBe(printed);
    expect(secrets.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(secrets.encryptionKey).toMatch(/^[0-9a-f]{64}$/);
    // The key goes to the terminal, never into a log line.
    expect(child.stdout.split("\n").filter((l) => l.startsWith("{") && l.includes(printed!))).toEqual([]);

    const ready = await get(`${base}/health/ready`);
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    expect(Object.keys(ready.body.checks).sort()).toEqual(["hub-forwarding", "postgres", "redis", "workers"]);

    const res = await fetch(`${base}/api/v1/sync/full`, {
      method: "POST",
      headers: { "X-API-Key": printed! },
    });
    expect(res.status).toBe(202);
    const { sync_log_id } = ((await res.json()) as Json).data;
    await vi.waitFor(
      async () => {
        const run = await get(`${base}/api/v1/sync/status/${sync_log_id}`, printed);
        expect(run.body.data.status).toBe("COMPLETED");
      },
      { timeout: 20_000, interval: 100 },
    );

    // The mesh on the embedded database: addresses in use are read and the hub's peers derived there.
    const post = async (url: string, body: unknown) => {
      const r = await fetch(`${base}${url}`, {
        method: "POST",
        headers: { "X-API-Key": printed!, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const payload = (await r.json()) as Json;
      expect(r.status, JSON.stringify(payload)).toBe(201);
      return payload.data;
    };
    const net = await post("/api/v1/networks", {
      name: "home",
      cidr4: "10.77.0.0/24",
      cidr6: "fd00:77::/64",
    });
    const a = await post("/api/v1/nodes", { networkId: net.id, name: "a" });
    const b = await post("/api/v1/nodes", { networkId: net.id, name: "b" });
    expect([a.node.ip4, a.node.ip6, b.node.ip4, b.node.ip6]).toEqual([
      "10.77.0.2",
      "fd00:77::2",
      "10.77.0.3",
      "fd00:77::3",
    ]);
    const drift = await get(`${base}/api/v1/networks/${net.id}/drift`, printed);
    // No worker manages an interface for it here: the API says so rather than failing.
    expect(drift.status, JSON.stringify(drift.body)).toBe(409);
    await stop(child);
  }, 150_000);

  it("a second start keeps the key to itself; with no Redis at REDIS_URL it runs a private redis-server", async () => {
    const closedPort = await freePort();
    const { child, base } = await start(`redis://127.0.0.1:${closedPort}`);
    expect(child.stdout).not.toContain("Admin API key");
    expect(child.stdout).not.toContain("wsk_");
    const started = child.stdout
      .split("\n")
      .find((l) => l.includes('"msg":"started a private redis-server"'));
    expect(started, child.stdout).toBeDefined();
    const privatePort = Number(new URL(JSON.parse(started!).url).port);
    expect(privatePort).toBeGreaterThan(0);
    expect(redisServersOn(privatePort)).toHaveLength(1);

    const ready = await get(`${base}/health/ready`);
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);

    await stop(child);
    expect(redisServersOn(privatePort), "the private redis-server must stop with wiresync").toEqual([]);
  }, 150_000);
});

/** Pids of redis-server processes listening on `port`, from their command lines. */
function redisServersOn(port: number): string[] {
  const ps = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps.stdout
    .split("\n")
    .filter((line) => line.includes("redis-server") && line.includes(`:${port}`))
    .map((line) => line.trim().split(/\s+/)[0]!);
}
