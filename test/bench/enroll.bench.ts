/**
 * Enrollment to interface, end to end: (d) one node enrolled through the API until its peer is on the
 * hub's wireguard-go interface, against the floor of the same pipeline done by hand (one BullMQ
 * pickup + one Postgres write + one userspace-API set); (e) a burst of 1,000 enrollments and how many
 * interface writes it causes. Ours and the floor alternate in one run and are timed the same way:
 * until, after their worker finishes a job, a dump of the interface shows the new peer. The bench
 * prints numbers and ratios and asserts nothing.
 *
 *   npx tsx test/bench/enroll.bench.ts          (root, wireguard-go; ROUNDS=60 BURST=1000 by default)
 */
import { randomBytes } from "node:crypto";
import { Queue, Worker } from "bullmq";
import postgres from "postgres";
import { createPlatformApp } from "../../apps/api/app.js";
import { auditLog } from "../../src/db/index.js";
import { createLogger } from "../../src/logger.js";
import { openPlatform } from "../../src/platform.js";
import { createRedis } from "../../src/queue/index.js";
import { generateBootstrapKey } from "../../src/secrets.js";
import { checkPlan, generateKeyPair, openDriver } from "../../src/wireguard/index.js";
import { buildProcessors } from "../../workers/processors/index.js";
import { startWorkers } from "../../workers/runtime.js";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../support/env.js";
import { createLab, netnsSupport } from "../support/netns.js";
import { deletePrefix } from "../support/redis.js";

// biome-ignore lint/style/noProcessEnv: benchmark knobs
const knobs = process.env;
const ROUNDS = Number(knobs.ROUNDS ?? 60);
const BURST = Number(knobs.BURST ?? 1_000);
const BURST_CONCURRENCY = 50;
const MIN_APPLY_INTERVAL_MS = Number(knobs.MIN_APPLY_INTERVAL_MS ?? 250);

const support = netnsSupport();
if (!support.ok) {
  process.stderr.write(`enroll bench needs ${support.reason}\n`);
  process.exit(1);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

const lab = createLab();
const dbName = `wiresync_bench_${randomBytes(4).toString("hex")}`;
const prefix = `bench-${randomBytes(4).toString("hex")}`;
const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
const dbUrl = (() => {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

try {
  const hubNs = await lab.namespace();
  const hubIface = lab.interfaceName(hubNs);
  await admin.unsafe(`create database "${dbName}"`);
  const logger = createLogger({ level: "silent", pretty: false });
  const adminKey = generateBootstrapKey();
  const platform = await openPlatform({
    database: { kind: "postgres", url: dbUrl, poolSize: 20 },
    redis: { url: TEST_REDIS_URL, prefix },
    secrets: {
      apiKey: adminKey,
      jwtSecret: randomBytes(32).toString("hex"),
      encryptionKey: randomBytes(32),
      previousEncryptionKeys: [],
    },
    auth: { jwtTtlSeconds: 3600 },
    logger,
    wireguard: {
      interfaces: [{ network: "bench", iface: hubIface, netns: hubNs }],
      driver: "auto",
      minApplyIntervalMs: MIN_APPLY_INTERVAL_MS,
    },
  });
  const app = createPlatformApp(platform, 3600);
  const call = async (path: string, body: unknown) => {
    const res = await app.request(path, {
      method: "POST",
      headers: { "X-API-Key": adminKey, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { data: Record<string, unknown> };
  };
  const runtime = startWorkers({
    queues: ["peer-sync"],
    processors: buildProcessors(platform),
    connection: platform.workerConnection(),
    prefix,
    concurrency: { default: 4 },
    logger,
  });
  await Promise.all([...runtime.workers.values()].map((w) => w.waitUntilReady()));
  const peerSyncWorker = runtime.workers.get("peer-sync")!;

  const network = (
    await call("/api/v1/networks", { name: "bench", cidr4: "10.200.0.0/16", listenPort: 51900 })
  ).data;
  const networkId = network.id as string;
  // The first sync brings the interface up.
  await platform.services.peerSync.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
  const hub = openDriver(hubIface, { driver: "uapi" });
  const onHub = async (key: string) => (await hub.dump()).peers.some((p) => p.publicKey === key);
  /**
   * Resolves once `key` is on the hub, checked with one dump each time `worker` finishes a job. Ours
   * and the floor are timed the same way, and no polling loop competes with them for the event loop.
   */
  const arrives = (worker: Worker, key: string) =>
    new Promise<void>((resolve, reject) => {
      const settle = (err?: Error) => {
        worker.off("completed", check);
        worker.off("failed", failed);
        if (err) reject(err);
        else resolve();
      };
      const check = () => void onHub(key).then((yes) => yes && settle(), settle);
      const failed = (_job: unknown, err: Error) => settle(err);
      worker.on("completed", check);
      worker.on("failed", failed);
    });

  // The floor: the same pipeline without wiresync — a job picked up by a worker, one row written,
  // one peer set over the userspace API.
  const floorConnection = createRedis(TEST_REDIS_URL, "worker");
  const floorQueue = new Queue("bench-floor", { connection: floorConnection, prefix });
  const floorWorker = new Worker(
    "bench-floor",
    async (job) => {
      await platform.database.db
        .insert(auditLog)
        .values({ actor: "bench", action: "floor", entityType: "bench" });
      const key = job.data.key as string;
      await hub.apply(
        checkPlan({
          add: [{ publicKey: key, allowedIps: [job.data.ip as string] }],
          remove: [],
          update: [],
          unexpected: [],
          reason: "floor",
        }),
      );
    },
    { connection: floorConnection, prefix, concurrency: 1 },
  );
  await floorWorker.waitUntilReady();

  /**
   * One enrollment through the API on an idle interface (no write in the last MIN_APPLY_INTERVAL_MS),
   * timed until its peer is on the hub; `api` gets the API call's own share.
   */
  const enrollOne = async (name: string, total: number[], api: number[]) => {
    await sleep(MIN_APPLY_INTERVAL_MS + 20);
    const key = generateKeyPair().publicKey;
    const t0 = performance.now();
    const arrived = arrives(peerSyncWorker, key);
    await call("/api/v1/nodes", { networkId, name, publicKey: key });
    api.push(performance.now() - t0);
    await arrived;
    total.push(performance.now() - t0);
  };

  const ours: number[] = [];
  const oursApi: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await enrollOne(`single-${i}`, ours, oursApi);

    const fkey = generateKeyPair().publicKey;
    const id = `floor-${i}`;
    const t0 = performance.now();
    const floorArrived = arrives(floorWorker, fkey);
    await floorQueue.add(
      "floor",
      { key: fkey, ip: `10.201.${i >> 8}.${i & 255}/32` },
      { jobId: id, removeOnComplete: true },
    );
    await floorArrived;
    floor.push(performance.now() - t0);
  }
  await floorWorker.close();
  await floorQueue.close();
  floorConnection.disconnect();
  // The floor's peers are not the database's: drop them before the burst.
  await platform.services.peerSync.syncNetwork(networkId, { removeUnknown: true, reportDrift: false });

  // (e) A burst of enrollments.
  const writesBefore = (await platform.metrics.interfaceWrites.get()).values.reduce((a, v) => a + v.value, 0);
  const burstKeys = Array.from({ length: BURST }, () => generateKeyPair().publicKey);
  const burstStart = performance.now();
  const finished: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: BURST_CONCURRENCY }, async () => {
      while (next < BURST) {
        const i = next++;
        await call("/api/v1/nodes", { networkId, name: `burst-${i}`, publicKey: burstKeys[i] });
        finished.push(performance.now());
      }
    }),
  );
  const enrolledMs = performance.now() - burstStart;
  // Enrollments of one network are serialised by its row lock: the time between two of them, in the
  // burst's first and last tenth, shows what the network's size costs each one.
  const tenth = Math.max(1, Math.floor(BURST / 10));
  const spacing = (from: number) => (finished[from + tenth - 1]! - finished[from]!) / (tenth - 1 || 1);
  for (;;) {
    const keys = new Set((await hub.dump()).peers.map((p) => p.publicKey));
    if (burstKeys.every((k) => keys.has(k))) break;
    await sleep(5);
  }
  const convergedMs = performance.now() - burstStart;
  const writes =
    (await platform.metrics.interfaceWrites.get()).values.reduce((a, v) => a + v.value, 0) - writesBefore;
  const windows = Math.max(1, Math.ceil(convergedMs / MIN_APPLY_INTERVAL_MS));

  // (d) again, now that the network holds the burst's nodes.
  const oursLarge: number[] = [];
  const oursLargeApi: number[] = [];
  for (let i = 0; i < Math.min(ROUNDS, 20); i++) await enrollOne(`late-${i}`, oursLarge, oursLargeApi);

  const p50 = quantile(ours, 0.5);
  const f50 = quantile(floor, 0.5);
  const lines = [
    "",
    `enrollment → peer on the interface (${ROUNDS} rounds, alternating; load ${(await import("node:os")).loadavg()[0]!.toFixed(1)})`,
    `  (d) ours  p50 ${ms(p50)} ms   p99 ${ms(quantile(ours, 0.99))} ms`,
    `      of which the API call p50 ${ms(quantile(oursApi, 0.5))} ms (the rest: trigger, pickup, peer sync)`,
    `      floor p50 ${ms(f50)} ms   p99 ${ms(quantile(floor, 0.99))} ms   (BullMQ pickup + one Postgres write + one userspace-API set)`,
    `      ratio p50 ${(p50 / f50).toFixed(2)}×   target ≤ 4×`,
    `  (e) burst of ${BURST} enrollments (${BURST_CONCURRENCY} at a time): enrolled in ${ms(enrolledMs)} ms, all on the interface after ${ms(convergedMs)} ms`,
    `      interface writes: ${writes} over ${windows} burst window(s) of ${MIN_APPLY_INTERVAL_MS} ms = ${(writes / windows).toFixed(2)} per window   target ≤ 2`,
    `      one enrollment every ${ms(spacing(0))} ms in the burst's first tenth, every ${ms(spacing(BURST - tenth))} ms in its last`,
    `  (d) again at ${ROUNDS + BURST} nodes: p50 ${ms(quantile(oursLarge, 0.5))} ms   p99 ${ms(quantile(oursLarge, 0.99))} ms   (the API call p50 ${ms(quantile(oursLargeApi, 0.5))} ms)`,
    `  worker RSS with ${BURST + ROUNDS} peers loaded: ${(process.memoryUsage().rss / 1024 / 1024).toFixed(1)} MB`,
    "",
  ];
  process.stdout.write(lines.join("\n"));

  hub.close();
  await runtime.close();
  await platform.close();
} finally {
  await lab.close();
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
  await admin.end();
  await deletePrefix(prefix).catch(() => {});
}
