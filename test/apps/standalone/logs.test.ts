import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";
import { TEST_REDIS_URL } from "../../support/env.js";
import type { Json } from "../../support/http.js";
import { badLogLines } from "../../support/json-lines.js";
import { deletePrefix, testPrefix } from "../../support/redis.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { freePort, spawnEntry } from "../../support/spawn.js";

/** What a log collector reads from `npm start` with LOG_FORMAT=json, through a realistic session. */
describe("npm start's log with LOG_FORMAT=json", () => {
  let db: TestDatabase;
  let child: SpawnedProcess | undefined;
  const prefix = testPrefix();
  const apiKey = `wsk_${randomBytes(24).toString("base64url")}`;

  beforeAll(async () => {
    db = await createTestDatabase(2);
  });
  afterAll(async () => {
    await child?.stop();
    await db?.drop();
    await deletePrefix(prefix);
  });

  it("is one JSON object per line, each key once, with nothing on stderr", async () => {
    const port = await freePort();
    child = spawnEntry("apps/standalone/main.ts", {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      API_KEY: apiKey,
      JWT_SECRET: randomBytes(32).toString("hex"),
      ENCRYPTION_KEY: randomBytes(32).toString("hex"),
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
    });
    await child.waitForOutput(/wiresync is running/, 100_000);
    const base = `http://127.0.0.1:${port}`;
    const call = async (path: string, body?: unknown, key: string | null = apiKey) => {
      const res = await fetch(`${base}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };

    const credentials = { email: "ada@example.com", password: "correct horse battery" };
    expect((await call("/api/auth/register", credentials, null)).status).toBe(401);
    expect((await call("/api/auth/register", credentials)).status).toBe(201);
    expect((await call("/api/auth/login", { ...credentials, password: "wrong password" }, null)).status).toBe(
      401,
    );
    expect((await call("/api/auth/login", credentials, null)).status).toBe(200);
    const network = await call("/api/v1/networks", {
      name: "office",
      cidr4: "10.77.0.0/24",
      endpoint: "vpn.example.com:51820",
    });
    expect(network.status).toBe(201);
    const node = await call("/api/v1/nodes", {
      networkId: network.body.data.id,
      name: "laptop",
      email: "ada@example.com",
    });
    expect(node.status).toBe(201);
    expect((await call("/api/v1/nodes/not-a-uuid")).status).toBe(400);
    // The scheduler's lines are the ones that carried `component` twice.
    await child.waitForOutput(/"msg":"scheduled reconcile requested"/, 30_000);
    child.child.kill("SIGTERM");
    expect(await child.waitForExit(20_000)).toEqual({ code: 0, signal: null });

    // The start-up banner is for people at a terminal: indented text, blank lines around it.
    const lines = child.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("  "));
    expect(lines.length).toBeGreaterThan(10);
    expect(badLogLines(lines)).toEqual([]);
    expect(child.stderr).toBe("");
    const messages = lines.map((l) => JSON.parse(l).msg);
    for (const msg of ["wiresync started", "request completed", "scheduled reconcile requested", "stopped"])
      expect(messages).toContain(msg);
  });
});
