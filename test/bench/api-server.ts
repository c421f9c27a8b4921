/**
 * The servers `api.bench.ts` loads, in a process of their own (so the load generator's CPU is not
 * spent in the servers' event loop): wiresync's API as `npm start` serves it, and a bare Hono app
 * doing the least each route needs. Both share this process and take turns (rounds interleave).
 * Prints `READY {"ours":port,"bare":port}` once both listen.
 *
 *   node --import tsx test/bench/api-server.ts '<json: dbUrl, redisUrl, prefix, adminKey>'
 */
import { randomBytes } from "node:crypto";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import postgres from "postgres";
import { createPlatformApp } from "../../apps/api/app.js";
import { listen } from "../../apps/api/server.js";
import { sha256Hex } from "../../src/crypto/index.js";
import { createLogger } from "../../src/logger.js";
import { openPlatform } from "../../src/platform.js";

const POOL_SIZE = 20;
const settings = JSON.parse(process.argv[2] ?? "{}") as {
  dbUrl: string;
  redisUrl: string;
  prefix: string;
  adminKey: string;
};

const platform = await openPlatform({
  database: { kind: "postgres", url: settings.dbUrl, poolSize: POOL_SIZE },
  redis: { url: settings.redisUrl, prefix: settings.prefix },
  secrets: {
    apiKey: settings.adminKey,
    jwtSecret: randomBytes(32).toString("hex"),
    encryptionKey: randomBytes(32),
    previousEncryptionKeys: [],
  },
  auth: { jwtTtlSeconds: 3600 },
  logger: createLogger({ level: "silent", pretty: false }),
  migrate: false,
});
const ours = await listen(createPlatformApp(platform, 3600), 0, "127.0.0.1");

// The bare side: one client with the same pool size, and each route's floor in one statement.
const sql = postgres(settings.dbUrl, { max: POOL_SIZE, onnotice: () => {} });
await sql`create table if not exists bench_bare_nodes (id uuid primary key default gen_random_uuid(),
          name text not null, created_at timestamptz not null default now())`;
const tokenOf = (header: string | undefined) => sha256Hex((header ?? "").replace(/^Bearer /, ""));
const bareApp = new Hono()
  .get("/health/live", (c) => c.json({ status: "ok" }))
  // A heartbeat's floor: authenticate the node and record it, in one statement.
  .post("/bare/nodes/:id/heartbeat", async (c) => {
    const body = await c.req.json();
    const [row] = await sql`update nodes set last_seen_at = now(), metrics = ${sql.json(body.metrics ?? {})}
                            where id = ${c.req.param("id")} and token_hash = ${tokenOf(c.req.header("authorization"))}
                            returning config_version, status`;
    if (!row) return c.json({ error: "unauthorized" }, 401);
    return c.json({ configVersion: row.config_version, status: row.status });
  })
  // A config read's floor: authenticate the node, read its row with its network's, and record the
  // read in the audit log (a config holding a server-made private key is audited on every read), in
  // one statement.
  .get("/bare/nodes/:id/config", async (c) => {
    const [row] = await sql`with n as (
                              select n.id, n.ip4, w.hub_public_key from nodes n join networks w on w.id = n.network_id
                              where n.id = ${c.req.param("id")} and n.token_hash = ${tokenOf(c.req.header("authorization"))}),
                            a as (insert into audit_log (actor, action, entity_type, entity_id)
                                  select 'node', 'node.key.read', 'node', n.id::text from n)
                            select * from n`;
    if (!row) return c.text("unauthorized", 401);
    return c.text(`[Interface]\nAddress = ${row.ip4}\n\n[Peer]\nPublicKey = ${row.hub_public_key}\n`);
  })
  // An enrollment's floor, as issue 22 states it: one INSERT.
  .post("/bare/nodes", async (c) => {
    const body = await c.req.json();
    const [row] = await sql`insert into bench_bare_nodes (name) values (${String(body.name)}) returning id`;
    return c.json({ id: row!.id }, 201);
  });
const bare = await new Promise<{ port: number; close(): Promise<void> }>((resolve) => {
  const server = serve({ fetch: bareApp.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
    resolve({
      port: info.port,
      close: () => new Promise((done) => server.close(() => done())),
    }),
  );
});
process.stdout.write(`READY ${JSON.stringify({ ours: ours.port, bare: bare.port })}\n`);

process.on("SIGTERM", async () => {
  await Promise.all([ours.close(500), bare.close()]);
  await sql.end();
  await platform.close();
  process.exit(0);
});
