/**
 * A lone change, end to end: sequential enrollments over HTTP (real sockets, server-made keys), each
 * timed until its peer is on the hub's wireguard-go interface, against the API call's own time, with
 * the apply throttle at its default (WG_MIN_APPLY_INTERVAL_MS=250) and the network holding 10, then
 * 1,000 nodes. Each enrollment starts as soon as the previous one's peer is on the interface (what a
 * script provisioning clients one by one does), so it arrives inside the previous write's window.
 * Prints medians and the ratio (target ≤ 2); asserts nothing.
 *
 *   npx tsx test/bench/lone-change.bench.ts        (root, wireguard-go; ROUNDS=30)
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import postgres from "postgres";
import { createPlatformApp } from "../../apps/api/app.js";
import { listen } from "../../apps/api/server.js";
import { createLogger } from "../../src/logger.js";
import { openPlatform } from "../../src/platform.js";
import { generateBootstrapKey } from "../../src/secrets.js";
import { openDriver } from "../../src/wireguard/index.js";
import { buildProcessors } from "../../workers/processors/index.js";
import { startWorkers } from "../../workers/runtime.js";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../support/env.js";
import type { Json } from "../support/http.js";
import { insertNodes } from "../support/mesh.js";
import { createLab, netnsSupport } from "../support/netns.js";
import { deletePrefix } from "../support/redis.js";

// biome-ignore lint/style/noProcessEnv: benchmark knobs
const knobs = process.env;
const ROUNDS = Number(knobs.ROUNDS ?? 30);
const INTERVAL_MS = 250;

const support = netnsSupport();
if (!support.ok) {
  process.stderr.write(`lone-change bench needs ${support.reason}\n`);
  process.exit(1);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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
    database: { kind: "postgres", url: dbUrl, poolSize: 10 },
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
      minApplyIntervalMs: INTERVAL_MS,
    },
  });
  const server = await listen(createPlatformApp(platform, 3600), 0, "127.0.0.1");
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      method: "POST",
      headers: { "X-API-Key": adminKey, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { data: Json };
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
  const worker = runtime.workers.get("peer-sync")!;
  const networkId = (
    await post("/api/v1/networks", { name: "bench", cidr4: "10.210.0.0/16", listenPort: 51910 })
  ).data.id as string;
  // The first sync brings the interface up.
  await platform.services.peerSync.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
  const hub = openDriver(hubIface, { driver: "uapi" });
  const onHub = async (key: string) => (await hub.dump()).peers.some((p) => p.publicKey === key);

  /** One enrollment with a server-made key, timed until the API answers and until its peer is on the hub. */
  const enrollOne = async (name: string) => {
    let key: string | undefined;
    let arrived!: () => void;
    const done = new Promise<void>((r) => {
      arrived = r;
    });
    const check = () =>
      void (key
        ? onHub(key).then(
            (yes) => yes && arrived(),
            () => {},
          )
        : undefined);
    worker.on("completed", check);
    const t0 = performance.now();
    const created = await post("/api/v1/nodes", { networkId, name });
    const api = performance.now() - t0;
    key = created.data.node.publicKey as string;
    check(); // its job may have finished before the answer reached us
    await done;
    worker.off("completed", check);
    return { api, total: performance.now() - t0 };
  };

  let made = 0;
  for (const size of [10, 1_000]) {
    const have = made + 1; // the network's nodes so far, plus the hub
    if (size - have > 100) {
      await insertNodes(platform.database.db, networkId, size - have, "10.210.100.1");
      made = size - 1;
    }
    for (; made + 1 < size; made++) await enrollOne(`fill-${made}`);
    await platform.services.peerSync.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
    await enrollOne(`warm-${size}`);
    made++;
    const api: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const r = await enrollOne(`lone-${size}-${i}`);
      made++;
      api.push(r.api);
      total.push(r.total);
    }
    const ratio = median(total) / median(api);
    process.stdout.write(
      `~${size} nodes: enrollment → peer on interface p50 ${median(total).toFixed(1)} ms, API call p50 ${median(api).toFixed(1)} ms, ratio ${ratio.toFixed(2)} (target ≤ 2: ${ratio <= 2 ? "pass" : "MISS"})   load ${loadavg()[0]!.toFixed(1)}\n`,
    );
  }
  hub.close();
  await server.close();
  await runtime.close();
  await platform.close();
} finally {
  await lab.close();
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  await deletePrefix(prefix);
}
