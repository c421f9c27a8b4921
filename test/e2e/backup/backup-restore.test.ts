/**
 * Backup and restore as an operator does it after losing a server: `wiresync backup` of a running
 * installation, a fresh database, `wiresync restore`, and the same mesh comes back: the same rows
 * (nodes, hub keys, settings, webhooks, users), byte-equal node configs, and a peer-sync worker on the
 * restored database brings the hub interface up with the same key, so a namespace node pings another
 * through it. The backup holds no secret in clear; restore refuses a non-empty database without
 * --force and a backup whose key it does not have. The same file restores into the embedded database.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { asc, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { keyIdOf } from "../../../src/crypto/index.js";
import type { Database, Db } from "../../../src/db/index.js";
import { openDatabase, schema } from "../../../src/db/index.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../../src/notify/index.js";
import { openDriver } from "../../../src/wireguard/index.js";
import { createUser } from "../../support/auth.js";
import type { TestDatabase } from "../../support/db.js";
import { adminSql, databaseUrl } from "../../support/db.js";
import { childEnv } from "../../support/env.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork, createNode } from "../../support/mesh.js";
import type { HubAndClients, Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClients } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { StandIn } from "../../support/stand-ins.js";
import { startStandIn } from "../../support/stand-ins.js";
import type { WorkerChild } from "../../support/worker-process.js";
import {
  bundleCli,
  bundleWorkerEntry,
  startWorkerChild,
  workerChildEnv,
} from "../../support/worker-process.js";

const run = promisify(execFile);
const WAIT = { timeout: 30_000, interval: 200 };

/** The CLI's bundle (`bundleCli`), made once for this file. */
let cliEntry = "";

/** Runs the CLI; resolves to its exit code and output (never rejects on a non-zero exit). */
async function cli(args: string[], env: Record<string, string | undefined>) {
  return run(process.execPath, [cliEntry, ...args], {
    env: childEnv({ LOG_LEVEL: "silent", NODE_ENV: "test", ...env }),
    timeout: 90_000,
  }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

/** The rows a restore must bring back, in a stable order. */
async function snapshot(db: Db) {
  const s = schema;
  return {
    networks: await db.select().from(s.networks).orderBy(asc(s.networks.id)),
    nodes: await db.select().from(s.nodes).orderBy(asc(s.nodes.id)),
    webhooks: await db.select().from(s.webhooks).orderBy(asc(s.webhooks.id)),
    settings: await db.select().from(s.settings).orderBy(asc(s.settings.key)),
    users: await db.select().from(s.users).orderBy(asc(s.users.id)),
    apiKeys: await db.select().from(s.apiKeys).orderBy(asc(s.apiKeys.id)),
    enrollmentKeys: await db.select().from(s.enrollmentKeys).orderBy(asc(s.enrollmentKeys.id)),
    auditLog: await db.select().from(s.auditLog).orderBy(asc(s.auditLog.id)),
  };
}

/** An empty database (no migrations: restore runs them), dropped by the test. */
async function emptyDatabase(): Promise<{ name: string; url: string }> {
  const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
  await adminSql(`create database "${name}"`);
  return { name, url: databaseUrl(name) };
}

describeNetns("backup and restore", () => {
  let lab: Lab;
  let hubNs: string;
  let hubIface: string;
  let ns: HubAndClients["ns"];
  let iface: HubAndClients["iface"];
  let entry: string;
  let dir: string;
  let source: TestPlatform;
  let restored: TestPlatform | undefined;
  let receiver: StandIn | undefined;
  const databases: string[] = [];
  const children: WorkerChild[] = [];
  const opened: Database[] = [];

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface, ns, iface } = await hubAndClients(lab, ["192.168.131", "192.168.132"]));
    dir = await mkdtemp(path.join(tmpdir(), "wiresync-backup-"));
    entry = bundleWorkerEntry();
    cliEntry = bundleCli();
    source = await createTestPlatform();
  }, 60_000);

  afterAll(async () => {
    for (const c of children) {
      c.process.kill("SIGKILL");
      await c.exited;
    }
    await restored?.close();
    await receiver?.close();
    for (const d of opened) await d.close().catch(() => {});
    await source?.close();
    for (const name of databases) await adminSql(`drop database if exists "${name}" with (force)`);
    await lab?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (entry) await rm(entry, { force: true });
    if (cliEntry) await rm(cliEntry, { force: true });
  });

  it("brings a lost installation back: same rows and configs, and the hub carries a ping again", async () => {
    const net = await createNetwork(source, {
      name: "restore",
      cidr4: "10.161.0.0/24",
      endpoint: "192.168.131.1:51881",
      listenPort: 51881,
      persistentKeepalive: 1,
    });
    const nodes = { c1: await createNode(source, net.id), c2: await createNode(source, net.id) };
    await createUser(source, "owner@example.com", { role: "admin" });
    receiver = await startStandIn();
    const hook = await source.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "ops", type: "GENERIC", webhookUrl: `${receiver.url}/ops-hook`, events: ["*"] },
    });
    expect(hook.status).toBe(201);
    const created = (await json(hook)).data as { id: string; secret: string };
    expect(created.secret).toMatch(/^whsec_/);
    const setting = await source.request("/api/admin/settings", {
      method: "POST",
      body: { key: "resend.apiKey", value: "re_backup_secret_value", encrypted: true },
    });
    expect(setting.status).toBeLessThan(300);
    await createEnrollmentKey(source, net.id, { reusable: true });
    const configOf = async (t: TestPlatform, id: string) => {
      const res = await t.request(`/api/v1/nodes/${id}/config`);
      expect(res.status).toBe(200);
      return res.text();
    };
    const configs = {
      c1: await configOf(source, nodes.c1.node.id),
      c2: await configOf(source, nodes.c2.node.id),
    };
    const before = await snapshot(source.platform.database.db);
    expect(before.nodes).toHaveLength(2);

    // Backup of the running installation.
    const file = path.join(dir, "wiresync.jsonl");
    const backup = await cli(["backup", file], { DATABASE_URL: source.db.url });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toContain(`key ${keyIdOf(source.encryptionKey)}`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, "utf8");
    const lines = text.trim().split("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({
      format: "wiresync-backup",
      version: 1,
      sealedWith: [keyIdOf(source.encryptionKey)],
    });
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      end: true,
      rows: { networks: 1, nodes: 2, webhooks: 1 },
    });
    // Sealed values stay sealed: no private key, webhook URL or secret setting in clear.
    for (const config of Object.values(configs)) {
      const privateKey = /PrivateKey = (\S+)/.exec(config)![1]!;
      expect(text).not.toContain(privateKey);
    }
    expect(text).not.toContain("re_backup_secret_value");
    expect(text).not.toContain("ops-hook");
    expect(text).not.toContain(created.secret);
    expect(text).not.toContain(source.encryptionKey.toString("hex"));

    // A fresh database: restore runs the migrations, then loads the rows.
    const fresh = await emptyDatabase();
    databases.push(fresh.name);
    const keyEnv = { DATABASE_URL: fresh.url, ENCRYPTION_KEY: source.encryptionKey.toString("hex") };
    const restore = await cli(["restore", file], keyEnv);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/^restored \d+ rows in \d+ tables/);

    const database = await openDatabase({ kind: "postgres", url: fresh.url, poolSize: 4 });
    const restoredDb: TestDatabase = { name: fresh.name, url: fresh.url, database, drop: async () => {} };
    restored = await createTestPlatform({
      database: restoredDb,
      encryptionKeys: { current: source.encryptionKey },
      migrate: true,
    });
    expect(await snapshot(restored.platform.database.db)).toEqual(before);
    expect(await configOf(restored, nodes.c1.node.id)).toBe(configs.c1);
    expect(await configOf(restored, nodes.c2.node.id)).toBe(configs.c2);
    // The restored webhook still works: its sealed URL and secret travelled as they were, so a test
    // send reaches the receiver, signed with the secret the webhook was created with.
    expect(receiver.received).toHaveLength(0);
    const sent = await restored.request("/api/admin/settings/webhooks", {
      method: "PATCH",
      body: { id: created.id },
    });
    expect(sent.status).toBe(200);
    expect((await json(sent)).data).toMatchObject({ ok: true, statusCode: 204, error: null });
    expect(receiver.received).toHaveLength(1);
    const arrived = receiver.received[0]!;
    expect(arrived).toMatchObject({ method: "POST", path: "/ops-hook" });
    const signature = arrived.headers[SIGNATURE_HEADER.toLowerCase()];
    const timestamp = arrived.headers[TIMESTAMP_HEADER.toLowerCase()];
    expect(typeof signature).toBe("string");
    expect(typeof timestamp).toBe("string");
    expect(
      verifySignature(
        created.secret,
        { signature: signature as string, timestamp: timestamp as string, body: arrived.body },
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true);
    expect(JSON.parse(arrived.body)).toMatchObject({ type: "webhook.test" });
    // Serial counters moved past the restored rows: new audit rows insert without a clash.
    const extra = await createNode(restored, net.id);
    expect(extra.node.id).toBeTruthy();

    // A worker on the restored database brings the hub up with the same key.
    const worker = startWorkerChild(
      entry,
      workerChildEnv(
        {
          db: { url: fresh.url },
          prefix: restored.prefix,
          adminKey: restored.adminKey,
          jwtSecret: restored.jwtSecret,
          encryptionKey: source.encryptionKey,
        },
        dir,
        {
          WORKER_QUEUES: "peer-sync",
          WG_INTERFACES: `restore=${hubIface}@${hubNs}`,
          SCHEDULER_ENABLED: "false",
        },
      ),
    );
    children.push(worker);
    await worker.ready;
    await vi.waitFor(async () => {
      const driver = openDriver(hubIface, { driver: "uapi" });
      try {
        const state = await driver.dump();
        expect(state.publicKey).toBe(net.hubPublicKey);
        expect(state.peers.map((p) => p.publicKey).sort()).toEqual(
          [nodes.c1.node.publicKey, nodes.c2.node.publicKey, extra.node.publicKey].sort(),
        );
      } finally {
        driver.close();
      }
    }, WAIT);
    for (const who of ["c1", "c2"] as const) {
      await applyWgQuickConfig(parseWgQuickConfig(configs[who]), { iface: iface[who], netns: ns[who] });
    }
    await vi.waitFor(async () => expect(await lab.ping(ns.c1, nodes.c2.node.ip4 as string)).toBe(true), WAIT);

    // Into a database that has data: refused without --force, nothing changed.
    const countNodes = async () =>
      Number(
        (
          (await restored!.platform.database.db.execute(
            sql`select count(*)::int as n from nodes`,
          )) as unknown as {
            n: number;
          }[]
        )[0]!.n,
      );
    expect(await countNodes()).toBe(3);
    const refused = await cli(["restore", file], keyEnv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("restore refused: the database is not empty (");
    expect(refused.stderr).toContain("nodes: 3");
    expect(refused.stderr).toContain("--force");
    expect(await countNodes()).toBe(3);
    // With --force it replaces everything: back to the two nodes of the backup.
    const forced = await cli(["restore", file, "--force"], keyEnv);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await countNodes()).toBe(2);

    // Without the key the secrets are sealed with: refused, naming the key id (and no key).
    const other = await emptyDatabase();
    databases.push(other.name);
    const otherKey = randomBytes(32).toString("hex");
    const wrongKey = await cli(["restore", file], { DATABASE_URL: other.url, ENCRYPTION_KEY: otherKey });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain(`sealed with key ${keyIdOf(source.encryptionKey)}`);
    expect(wrongKey.stderr).not.toContain(source.encryptionKey.toString("hex"));
    expect(wrongKey.stderr).not.toContain(otherKey);
  }, 240_000);

  it("restores the same file into the embedded database, and a backup of that equals the original", async () => {
    const file = path.join(dir, "wiresync.jsonl");
    const dataDir = path.join(dir, "embedded");
    const env = {
      DATABASE_URL: undefined,
      DATA_DIR: dataDir,
      ENCRYPTION_KEY: source.encryptionKey.toString("hex"),
    };
    const restore = await cli(["restore", file], env);
    expect(restore.code, restore.stderr).toBe(0);
    const again = path.join(dir, "again.jsonl");
    const backup = await cli(["backup", again], env);
    expect(backup.code, backup.stderr).toBe(0);
    const rowsOf = async (f: string) => (await readFile(f, "utf8")).trim().split("\n").slice(1);
    expect(await rowsOf(again)).toEqual(await rowsOf(file));

    const embedded = await openDatabase({ kind: "pglite", dataDir: path.join(dataDir, "pglite") });
    opened.push(embedded);
    expect(await snapshot(embedded.db)).toEqual(await snapshot(source.platform.database.db));
  }, 240_000);
});
