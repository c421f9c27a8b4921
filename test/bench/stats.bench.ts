/**
 * Stats and metrics at 10,000 nodes: each of our reads (the public counts, the overview, the admin
 * stats, a scrape of the fleet and queue metrics) against the bare aggregate SQL it rests on, sent
 * straight through postgres.js, alternating in one run. What ours adds is drizzle, the shaping of
 * the answer and (admin, scrape) BullMQ's counts. Prints rows and asserts nothing.
 *
 *   npx tsx test/bench/stats.bench.ts            (NODES=10000 ROUNDS=31 by default)
 *
 * `run()` returns the rows `{ name, ours, baseline, ratio, unit, target? }` for a harness.
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import postgres from "postgres";
import type { NodeStatus } from "../../src/db/index.js";
import { events, syncRuns, usageMonthly } from "../../src/db/index.js";
import { createLogger } from "../../src/logger.js";
import { openPlatform } from "../../src/platform.js";
import { monthOf } from "../../src/usage/index.js";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../support/env.js";
import { insertFleetNodes } from "../support/fleet.js";
import { insertNetworks } from "../support/networks.js";
import { deletePrefix } from "../support/redis.js";

export interface BenchRow {
  name: string;
  ours: number;
  baseline: number;
  ratio: number;
  rounds: number;
  unit: string;
  target?: string;
}

// biome-ignore lint/style/noProcessEnv: benchmark knobs
const knobs = process.env;
const NODES = Number(knobs.NODES ?? 10_000);
const ROUNDS = Number(knobs.ROUNDS ?? 31);
const NODES_PER_NETWORK = 200;
const STATUSES: NodeStatus[] = ["online", "online", "offline", "pending", "disabled"];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function timed(f: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await f();
  return performance.now() - start;
}

/** Builds a fleet of `NODES` nodes with usage, runs and events, measures, and removes it all. */
export async function run(): Promise<BenchRow[]> {
  const dbName = `wiresync_bench_${randomBytes(4).toString("hex")}`;
  const prefix = `bench-${randomBytes(4).toString("hex")}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${dbName}`;
  const raw = postgres(url.toString(), { max: 10, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const platform = await openPlatform({
    database: { kind: "postgres", url: url.toString(), poolSize: 10 },
    redis: { url: TEST_REDIS_URL, prefix },
    secrets: {
      apiKey: undefined,
      jwtSecret: randomBytes(32).toString("hex"),
      encryptionKey: randomBytes(32),
      previousEncryptionKeys: [],
    },
    auth: { jwtTtlSeconds: 3600 },
    logger: createLogger({ level: "silent", pretty: false }),
    metrics: { perPeer: false },
  });
  try {
    const db = platform.database.db;
    const networks = Math.ceil(NODES / NODES_PER_NETWORK);
    const networkIds = await insertNetworks(db, networks, "bench");
    const month = monthOf(new Date());
    for (const [n, networkId] of networkIds.entries()) {
      const count = Math.min(NODES_PER_NETWORK, NODES - n * NODES_PER_NETWORK);
      const list = Array.from({ length: count }, (_, i) => ({
        name: `node-${i}`,
        status: STATUSES[i % STATUSES.length]!,
        ...(i % 5 < 3 ? { handshakeAgeSeconds: (i * 37) % 7_200 } : {}),
        configVersion: 2,
        appliedConfigVersion: i % 10 === 0 ? 1 : 2,
      }));
      const [a, b] = [n >> 8, n & 255];
      const ids = await insertFleetNodes(db, networkId, list, {
        firstAddress: (i) => `10.${a}.${b}.${i + 2}`,
        seed: n * NODES_PER_NETWORK,
      });
      await db.insert(usageMonthly).values(
        ids.map((nodeId, i) => ({
          networkId,
          nodeId,
          publicKey: `k-${n}-${i}`,
          month,
          rxBytes: i * 1_000,
          txBytes: i * 2_000,
        })),
      );
    }
    await db
      .insert(syncRuns)
      .values(Array.from({ length: 1_000 }, () => ({ type: "full" as const, status: "COMPLETED" as const })));
    await db.insert(events).values(
      Array.from({ length: 1_000 }, (_, i) => ({
        type: i % 10 === 0 ? "drift.detected" : "node.updated",
        data: {},
      })),
    );
    await raw`analyze`;

    const { stats } = platform.services;
    const since = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const bare = {
      publicStats: () =>
        Promise.all([
          raw`select status, count(*) from nodes group by status`,
          raw`select count(*) from networks`,
        ]),
      overview: () =>
        Promise.all([
          raw`select n.id, n.name, d.status, count(*) from nodes d join networks n on n.id = d.network_id group by n.id, n.name, d.status`,
          raw`select count(*) from networks`,
          raw`select sum(rx_bytes), sum(tx_bytes) from usage_monthly where month = ${month}`,
          raw`select status, count(*) from sync_runs where created_at >= ${since} group by status`,
          raw`select count(*) from webhook_deliveries where status = 'failed'`,
          raw`select count(*) from emails where status = 'failed'`,
        ]),
      fleetMetrics: () =>
        Promise.all([
          raw`select n.name, d.status, count(*) from nodes d join networks n on n.id = d.network_id group by n.id, n.name, d.status`,
          raw`select n.name, count(*) from nodes d join networks n on n.id = d.network_id where d.config_pushed_version < d.config_version group by n.id, n.name`,
          raw`select n.name, count(*), sum(extract(epoch from now() - d.last_handshake_at)),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 30),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 60),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 120),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 180),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 300),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 600),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 1800),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 3600),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 21600),
                count(*) filter (where extract(epoch from now() - d.last_handshake_at) <= 86400)
              from nodes d join networks n on n.id = d.network_id where d.last_handshake_at is not null
              group by n.id, n.name`,
        ]),
    };
    const pairs: [string, () => Promise<unknown>, () => Promise<unknown>, string][] = [
      ["GET /api/stats (public counts)", () => stats.publicStats(), bare.publicStats, "≤ 2×"],
      ["GET /api/v1/stats/overview", () => stats.overview(), bare.overview, "≤ 2×"],
      [
        "GET /api/admin/stats (overview + BullMQ + drift + retention)",
        () => stats.adminStats(),
        bare.overview,
        "≤ 4×" /* adds Redis and 4 queries */,
      ],
      [
        "/metrics scrape (process + fleet + queue series)",
        () => platform.metrics.registry.metrics(),
        bare.fleetMetrics,
        "≤ 3×" /* adds BullMQ and the process's own series */,
      ],
    ];
    const rows: BenchRow[] = [];
    for (const [name, ours, baseline, target] of pairs) {
      await ours();
      await baseline();
      const a: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        if (r % 2 === 0) {
          a.push(await timed(ours));
          b.push(await timed(baseline));
        } else {
          b.push(await timed(baseline));
          a.push(await timed(ours));
        }
      }
      const [o, base] = [median(a), median(b)];
      rows.push({
        name: `${name}, ${NODES} nodes`,
        ours: o,
        baseline: base,
        // The median of per-round ratios: each round's pair saw the same moment of a noisy machine.
        ratio: median(a.map((x, i) => x / b[i]!)),
        rounds: ROUNDS,
        unit: "ms",
        target,
      });
    }
    return rows;
  } finally {
    await platform.close();
    await raw.end();
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
    await admin.end();
    await deletePrefix(prefix).catch(() => {});
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows = await run();
  for (const r of rows) {
    process.stdout.write(
      `${r.name}: ours ${r.ours.toFixed(2)} ${r.unit}, bare SQL ${r.baseline.toFixed(2)} ${r.unit}, ${r.ratio.toFixed(2)}× ${r.target ?? ""}\n`,
    );
  }
}
