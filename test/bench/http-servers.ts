/**
 * The servers of `http.bench.ts`, in a process of their own so the load generator does not share
 * their event loop: wiresync's app (a platform on a fresh database, logging at info to /dev/null as
 * in production) and a bare Hono app doing the least work of each operation on the same database:
 *
 *   GET  /ping                 c.json of a constant                  (vs GET /health/live)
 *   POST /nodes                one INSERT of a row                   (vs POST /api/v1/nodes, server-made key)
 *   POST /heartbeat/:id        SHA-256 of the token, one UPDATE      (vs POST /api/v1/nodes/:id/heartbeat)
 *   GET  /config/:id           SHA-256 of the token, one SELECT      (vs GET /api/v1/nodes/:id/config)
 *
 * Prints one JSON line with both ports and the credentials, then serves until killed.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import postgres from "postgres";
import { createPlatformApp } from "../../apps/api/app.js";
import { createLogger } from "../../src/logger.js";
import { openPlatform } from "../../src/platform.js";
import { generateBootstrapKey } from "../../src/secrets.js";
import { generateKeyPair } from "../../src/wireguard/index.js";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../support/env.js";

const dbName = `wiresync_bench_${randomBytes(4).toString("hex")}`;
const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${dbName}"`);
const dbUrl = (() => {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
const prefix = `bench-${randomBytes(4).toString("hex")}`;
const adminKey = generateBootstrapKey();
const platform = await openPlatform({
  database: { kind: "postgres", url: dbUrl, poolSize: 10 },
  redis: { url: TEST_REDIS_URL, prefix },
  secrets: {
    apiKey: adminKey,
    jwtSecret: randomBytes(32).toString("hex"),
    encryptionKey: randomBytes(32),
    previousEncryptionKeys: [],
  },
  auth: { jwtTtlSeconds: 3600 },
  logger: createLogger({ level: "info", pretty: false, destination: createWriteStream("/dev/null") }),
});
const app = createPlatformApp(platform, 3600);
const call = async (method: string, path: string, body?: unknown) => {
  const res = await app.request(path, {
    method,
    headers: { "X-API-Key": adminKey, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { data: Record<string, unknown> };
};
const network = (await call("POST", "/api/v1/networks", { name: "bench", cidr4: "10.96.0.0/12" })).data;
// An agent's node, as the agent makes it: its own key pair (so reading its config writes no audit row).
const agentKey = generateKeyPair().publicKey;
const agent = (
  await call("POST", "/api/v1/nodes", { networkId: network.id, name: "agent", publicKey: agentKey })
).data as {
  node: { id: string };
  token: string;
};

const sql = postgres(dbUrl, { max: 10, onnotice: () => {} });
await sql`create table bare_nodes (id uuid primary key default gen_random_uuid(), network_id uuid not null,
  name text not null, ip4 inet not null, created_at timestamptz not null default now())`;
let bareIp = 0;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const bare = new Hono();
bare.get("/ping", (c) => c.json({ status: "ok" }));
bare.post("/nodes", async (c) => {
  const body = (await c.req.json()) as { networkId: string; name: string };
  bareIp++;
  const [row] = await sql`insert into bare_nodes (network_id, name, ip4)
    values (${body.networkId}, ${body.name}, ${`10.${(bareIp >> 16) & 255}.${(bareIp >> 8) & 255}.${bareIp & 255}`})
    returning id, name, host(ip4) as ip4`;
  return c.json({ success: true, data: row }, 201);
});
bare.post("/heartbeat/:id", async (c) => {
  await c.req.json();
  const token = c.req.header("authorization")?.slice(7) ?? "";
  const rows = await sql`update nodes set last_seen_at = now() where id = ${c.req.param("id")}
    and token_hash = ${sha(token)} returning config_version`;
  if (rows.length === 0) return c.json({ success: false }, 401);
  return c.json({ success: true, data: { configVersion: rows[0]!.config_version } });
});
bare.get("/config/:id", async (c) => {
  const token = c.req.header("authorization")?.slice(7) ?? "";
  const rows = await sql`select * from nodes where id = ${c.req.param("id")} and token_hash = ${sha(token)}`;
  if (rows.length === 0) return c.json({ success: false }, 401);
  return c.text(JSON.stringify(rows[0]));
});

const listen = (fetch: (r: Request) => Response | Promise<Response>) =>
  new Promise<number>((resolve) => {
    serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(info.port));
  });
const oursPort = await listen(app.fetch);
const barePort = await listen(bare.fetch);
process.stdout.write(
  `${JSON.stringify({ oursPort, barePort, adminKey, networkId: network.id, nodeId: agent.node.id, token: agent.token, prefix })}\n`,
);

const stop = async () => {
  await platform.close();
  await sql.end();
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
