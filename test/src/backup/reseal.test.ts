/**
 * Re-seal after an `ENCRYPTION_KEY` rotation: values sealed with key A, the installation moved to key B
 * with A previous, every envelope moved to B in batches (exact counts per table, resumable after an
 * interruption, a concurrent write kept), and then the installation starts with A removed and opens
 * every secret. Without a key some envelope needs, it refuses to start and names that key's id.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listen } from "../../../apps/api/server.js";
import type { ResealResult } from "../../../src/backup/index.js";
import { applyResealPlan, planResealBatch, SEALED_COLUMNS } from "../../../src/backup/index.js";
import { createSecretBox, envelopeKeyId, keyIdOf } from "../../../src/crypto/index.js";
import type { Db } from "../../../src/db/index.js";
import { events, schema, settings } from "../../../src/db/index.js";
import { createApiKey } from "../../support/auth.js";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";
import { childEnv } from "../../support/env.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { testPrefix } from "../../support/redis.js";
import { startTestWorkers } from "../../support/workers.js";

const run = promisify(execFile);
const A = randomBytes(32);
const B = randomBytes(32);
const [idA, idB] = [keyIdOf(A), keyIdOf(B)];

/** Every envelope in the database, opened with `keys`: `table.column:key` → plaintext. */
async function openAll(db: Db, keys: { current: Buffer; previous?: Buffer[] }) {
  const box = createSecretBox(keys.current, keys.previous ?? []);
  const out: Record<string, string> = {};
  const keyIds: string[] = [];
  for (const c of SEALED_COLUMNS) {
    const result = await db.execute(
      sql`select ${sql.identifier(c.key)}::text as k, ${sql.identifier(c.column)} as v from ${sql.identifier(c.table)}
          where ${sql.identifier(c.column)} is not null ${c.table === "settings" ? sql`and encrypted` : sql``}`,
    );
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
      k: string;
      v: string;
    }[];
    for (const { k, v } of rows) {
      out[`${c.table}.${c.column}:${k}`] = box.open(v, c.aad(k));
      keyIds.push(envelopeKeyId(v)!);
    }
  }
  return { plain: out, keyIds };
}

describe("re-seal after an ENCRYPTION_KEY rotation", { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let prefix: string;
  const platforms: TestPlatform[] = [];
  let onA: TestPlatform;
  let onB: TestPlatform;
  let nodeIds: string[] = [];
  const configsBefore: Record<string, string> = {};
  let secretsBefore: Record<string, string>;

  const open = async (keys: { current: Buffer; previous?: Buffer[] }, migrate = false) => {
    const t = await createTestPlatform({ database, prefix, encryptionKeys: keys, migrate });
    platforms.push(t);
    return t;
  };
  const configOf = async (t: TestPlatform, id: string) => {
    const res = await t.request(`/api/v1/nodes/${id}/config`);
    expect(res.status, await res.clone().text()).toBe(200);
    return res.text();
  };
  const progressEvents = async (after: Date) =>
    (
      await onB.platform.database.db
        .select()
        .from(events)
        .where(and(eq(events.type, "reseal.progress"), sql`${events.createdAt} >= ${after.toISOString()}`))
        .orderBy(asc(events.createdAt), asc(events.id))
    ).map((e) => e.data as Record<string, unknown>);

  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = testPrefix();
    onA = await open({ current: A });
    // 2 networks (one hub key each), 5 server-keyed nodes, 2 webhooks (URL and secret each), 2 secret settings.
    const nets = [
      await createNetwork(onA, { name: "reseal-a", cidr4: "10.151.0.0/24" }),
      await createNetwork(onA, { name: "reseal-b", cidr4: "10.152.0.0/24" }),
    ];
    for (const [i, net] of [0, 0, 0, 1, 1].map((n, i) => [i, nets[n]!] as const)) {
      nodeIds.push((await createNode(onA, net.id as string, { name: `n${i}` })).node.id as string);
    }
    for (const name of ["hook-1", "hook-2"]) {
      const res = await onA.request("/api/admin/settings/webhooks", {
        method: "POST",
        body: { name, type: "GENERIC", webhookUrl: `http://127.0.0.1:9/${name}`, events: ["sync.failed"] },
      });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    for (const [key, value] of [
      ["resend.apiKey", "re_live_secret"],
      ["discord.token", "discord-secret"],
    ]) {
      const res = await onA.request("/api/admin/settings", {
        method: "POST",
        body: { key, value, encrypted: true },
      });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    }
    nodeIds = nodeIds.sort();
    for (const id of nodeIds) configsBefore[id] = await configOf(onA, id);
    const before = await openAll(onA.platform.database.db, { current: A });
    secretsBefore = before.plain;
    expect(Object.keys(secretsBefore)).toHaveLength(2 + 5 + 4 + 2);
    expect(new Set(before.keyIds)).toEqual(new Set([idA]));
    onB = await open({ current: B, previous: [A] });
  });

  afterAll(async () => {
    for (const t of platforms.reverse()) await t.platform.close().catch(() => {});
    await database?.drop();
  });

  it("reports what is left per table, re-seals in batches, and a second run after an interruption finishes with exact counts", async () => {
    const status = async () => {
      const res = await onB.request("/api/v1/admin/reseal");
      expect(res.status).toBe(200);
      return (await json(res)).data;
    };
    expect(await status()).toMatchObject({
      keyId: idB,
      remaining: 13,
      tables: {
        networks: { sealed: 2, remaining: 2 },
        nodes: { sealed: 5, remaining: 5 },
        webhooks: { sealed: 4, remaining: 4 },
        settings: { sealed: 2, remaining: 2 },
      },
      keys: { [idA]: 13 },
      missingKeys: [],
      job: null,
    });

    // Interrupted after its first committed batch (the 2 hub keys): what was written stays written.
    const started = new Date(Date.now() - 1_000);
    const stop = new AbortController();
    const batches: unknown[] = [];
    await expect(
      onB.platform.services.reseal.run({
        batchSize: 2,
        signal: stop.signal,
        onBatch: (tables) => {
          batches.push(tables);
          stop.abort();
        },
      }),
    ).rejects.toThrow();
    expect(batches).toEqual([
      {
        networks: { resealed: 2, skipped: 0, failed: 0 },
        nodes: { resealed: 0, skipped: 0, failed: 0 },
        webhooks: { resealed: 0, skipped: 0, failed: 0 },
        settings: { resealed: 0, skipped: 0, failed: 0 },
      },
    ]);
    expect(await status()).toMatchObject({
      remaining: 11,
      tables: { networks: { sealed: 2, remaining: 0 }, nodes: { remaining: 5 } },
      keys: { [idA]: 11, [idB]: 2 },
    });

    const result: ResealResult = await onB.platform.services.reseal.run({ batchSize: 2 });
    expect(result).toEqual({
      keyId: idB,
      remaining: 0,
      tables: {
        networks: { resealed: 0, skipped: 0, failed: 0, sealed: 2, remaining: 0 },
        nodes: { resealed: 5, skipped: 0, failed: 0, sealed: 5, remaining: 0 },
        webhooks: { resealed: 4, skipped: 0, failed: 0, sealed: 4, remaining: 0 },
        settings: { resealed: 2, skipped: 0, failed: 0, sealed: 2, remaining: 0 },
      },
    });
    expect(await status()).toMatchObject({ remaining: 0, keys: { [idB]: 13 } });

    // One event per committed batch, each with the run's running count for its table.
    const progress = await progressEvents(started);
    expect(progress.map((e) => [e.table, e.column, e.resealed])).toEqual([
      ["networks", "hub_private_key_enc", 2],
      ["nodes", "private_key_enc", 2],
      ["nodes", "private_key_enc", 4],
      ["nodes", "private_key_enc", 5],
      ["webhooks", "url_enc", 2],
      ["webhooks", "secret_enc", 4],
      ["settings", "value", 2],
    ]);
    // No secret in any event.
    const text = JSON.stringify(progress);
    for (const plain of Object.values(secretsBefore)) expect(text).not.toContain(plain);
  });

  it("keeps a value written between a batch's read and its write (compare-and-set)", async () => {
    // A rotation back to A as previous-of-B is not needed: write one setting under A directly, as an
    // installation that has not re-sealed yet holds it.
    const boxA = createSecretBox(A);
    const db = onB.platform.database.db;
    await db
      .update(settings)
      .set({ value: boxA.seal(JSON.stringify("old-token"), "setting:discord.token") })
      .where(eq(settings.key, "discord.token"));
    const column = SEALED_COLUMNS.find((c) => c.table === "settings")!;
    const plan = await planResealBatch(db, onB.platform.secrets, column, undefined, 10);
    expect(plan.rewrites.map((r) => r.key)).toEqual(["discord.token"]);
    // Meanwhile an operator sets a new value (sealed with the current key B).
    const res = await onB.request("/api/admin/settings", {
      method: "POST",
      body: { key: "discord.token", value: "new-token", encrypted: true },
    });
    expect(res.status).toBeLessThan(300);
    expect(await applyResealPlan(db, plan)).toEqual({ resealed: 0, skipped: 1 });
    const [row] = await db.select().from(settings).where(eq(settings.key, "discord.token"));
    expect(onB.platform.secrets.open(row!.value, "setting:discord.token")).toBe(JSON.stringify("new-token"));
    secretsBefore["settings.value:discord.token"] = JSON.stringify("new-token");
  });

  it("runs as a job through the admin API, for admins only", async () => {
    const reader = await createApiKey(onB, ["read"]);
    for (const [key, status] of [
      [null, 401],
      [reader.key, 403],
    ] as const) {
      expect((await onB.request("/api/v1/admin/reseal", { method: "POST", key })).status).toBe(status);
      expect((await onB.request("/api/v1/admin/reseal", { key })).status).toBe(status);
    }
    const bad = await onB.request("/api/v1/admin/reseal?job_id=%20x");
    expect(bad.status).toBe(400);
    // One envelope under A again, for the job to find.
    const db = onB.platform.database.db;
    const [node] = await db.select().from(schema.nodes).where(eq(schema.nodes.id, nodeIds[0]!));
    const plain = onB.platform.secrets.open(node!.privateKeyEnc!, `node:${node!.id}`);
    await db
      .update(schema.nodes)
      .set({ privateKeyEnc: createSecretBox(A).seal(plain, `node:${node!.id}`) })
      .where(eq(schema.nodes.id, node!.id));
    const workers = await startTestWorkers(onB.platform, { queues: ["config-push"] });
    try {
      const res = await onB.request("/api/v1/admin/reseal", { method: "POST" });
      expect(res.status).toBe(202);
      const { jobId } = (await json(res)).data;
      await vi.waitFor(
        async () => {
          const r = await json(await onB.request(`/api/v1/admin/reseal?job_id=${jobId}`));
          expect(r.data).toMatchObject({ remaining: 0, job: { id: jobId, state: "completed" } });
        },
        { timeout: 30_000, interval: 200 },
      );
    } finally {
      await workers.close();
    }
  });

  it("runs from the CLI (`wiresync reseal --wait`) until nothing is left", async () => {
    const db = onB.platform.database.db;
    const rows = await db.select().from(schema.networks);
    for (const n of rows) {
      const plain = onB.platform.secrets.open(n.hubPrivateKeyEnc, `network:${n.id}`);
      await db
        .update(schema.networks)
        .set({ hubPrivateKeyEnc: createSecretBox(A).seal(plain, `network:${n.id}`) })
        .where(eq(schema.networks.id, n.id));
    }
    expect((await onB.platform.services.reseal.status()).tables.networks).toEqual({
      sealed: 2,
      remaining: 2,
    });
    const server = await listen(onB.app, 0, "127.0.0.1");
    const workers = await startTestWorkers(onB.platform, { queues: ["config-push"] });
    try {
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", "apps/cli/main.ts", "reseal", "--wait", "--json"],
        {
          env: childEnv({
            LOG_LEVEL: "silent",
            WIRESYNC_URL: `http://127.0.0.1:${server.port}`,
            WIRESYNC_API_KEY: onB.adminKey,
          }),
          timeout: 90_000,
        },
      );
      expect(JSON.parse(stdout)).toMatchObject({
        remaining: 0,
        tables: { networks: { sealed: 2, remaining: 0 } },
        job: { state: "completed" },
      });
    } finally {
      await workers.close();
      await server.close();
    }
  });

  it("starts with the previous key removed and opens every secret; without a needed key it refuses, naming the key id", async () => {
    for (const t of [onA, onB]) await t.platform.close();
    platforms.length = 0;
    const onlyB = await open({ current: B }, true);
    const after = await openAll(onlyB.platform.database.db, { current: B });
    expect(after.plain).toEqual(secretsBefore);
    expect(new Set(after.keyIds)).toEqual(new Set([idB]));
    for (const id of nodeIds) expect(await configOf(onlyB, id)).toBe(configsBefore[id]);
    await onlyB.platform.close();
    platforms.length = 0;

    const failure = await open({ current: A }, true).then(
      () => new Error("started without key B"),
      (err: Error) => err,
    );
    expect(failure.message).toContain(`key ${idB}`);
    expect(failure.message).toContain("nodes.private_key_enc: 5");
    expect(failure.message).toContain("ENCRYPTION_KEYS_PREVIOUS");
    expect(failure.message).not.toContain(B.toString("hex"));
    expect(failure.message).not.toContain(A.toString("hex"));
  });
});
