/**
 * Enrollment to interface, end to end over HTTP with server-made keys: the API, a peer-sync worker
 * and the hub's wireguard-go interface in one process, as `npm start` runs them, with the product's
 * apply throttle (WG_MIN_APPLY_INTERVAL_MS = 250).
 *
 * - (d) one enrollment until its peer is on the interface, against its physical floor (key
 *   generation + one INSERT + one userspace-API set of one peer), rounds interleaved;
 * - (e) a burst of concurrent enrollments: writes wireguard-go received per enrollment;
 * - provisioning: enrollments one after another into a fresh network until each peer is on the
 *   interface, against each one's own API call, at 10, 100 and 1,000 nodes.
 *
 *   npm run bench -- enroll             (root, wireguard-go, Postgres, Redis)
 */
import type { Worker } from "bullmq";
import { createPlatformApp } from "../../apps/api/app.js";
import { listen } from "../../apps/api/server.js";
import { checkPlan, generateKeyPair, openDriver, type WgDriver } from "../../src/wireguard/index.js";
import { buildProcessors } from "../../workers/processors/index.js";
import { startWorkers } from "../../workers/runtime.js";
import type { Json } from "../support/http.js";
import type { BenchOptions, BenchRow } from "./harness.js";
import { checkRow, elapsedMs, interleave, median, pairedRow, until } from "./harness.js";
import { openWorld, requireNetns } from "./lab.js";

const MIN_APPLY_INTERVAL_MS = 250; // the product's default
const BURST_CONCURRENCY = 50;

/**
 * Resolves once `key` is on the interface: checked with one dump now and each time `worker` finishes
 * a job (ours and the floor end the same way, with one dump that shows the peer).
 */
function arrival(worker: Worker, hub: WgDriver, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (err?: unknown) => {
      if (done) return;
      done = true;
      worker.off("completed", check);
      worker.off("failed", failed);
      if (err) reject(err);
      else resolve();
    };
    const check = () =>
      void hub.dump().then((s) => s.peers.some((p) => p.publicKey === key) && settle(), settle);
    const failed = (_job: unknown, err: Error) => settle(err);
    worker.on("completed", check);
    worker.on("failed", failed);
    check();
  });
}

export async function rows(options: BenchOptions): Promise<BenchRow[]> {
  requireNetns("the enrollment bench");
  const ROUNDS = options.quick ? 5 : 30;
  const BURST = options.quick ? 60 : 1_000;
  const SIZES = options.quick ? [5, 10, 15] : [10, 100, 1_000];
  let enrollIf = "";
  let provisionIf = "";
  const world = await openWorld({
    interfaces: async (lab) => {
      const ns = await lab.namespace();
      enrollIf = lab.interfaceName(ns);
      provisionIf = lab.interfaceName(ns);
      return [
        { network: "bench", iface: enrollIf, netns: ns },
        { network: "provision", iface: provisionIf, netns: ns },
      ];
    },
    minApplyIntervalMs: MIN_APPLY_INTERVAL_MS,
  });
  const { platform, sql, counter, adminKey } = world;
  const out: BenchRow[] = [];
  const server = await listen(createPlatformApp(platform, 3600), 0, "127.0.0.1");
  const runtime = startWorkers({
    queues: ["peer-sync"],
    processors: buildProcessors(platform),
    connection: platform.workerConnection(),
    prefix: world.prefix,
    concurrency: { default: 4 },
    logger: platform.logger,
  });
  const drivers: WgDriver[] = [];
  try {
    await Promise.all([...runtime.workers.values()].map((w) => w.waitUntilReady()));
    const worker = runtime.workers.get("peer-sync")!;
    const base = `http://127.0.0.1:${server.port}`;
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "X-API-Key": adminKey, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${text}`);
      return (JSON.parse(text) as Json).data;
    };
    const network = async (name: string, cidr4: string, listenPort: number) => {
      const id = (await post("/api/v1/networks", { name, cidr4, listenPort })).id as string;
      // The first sync brings the interface up.
      await platform.services.peerSync.syncNetwork(id, { removeUnknown: false, reportDrift: false });
      return id;
    };
    const enrollId = await network("bench", "10.200.0.0/16", 51900);
    const provisionId = await network("provision", "10.210.0.0/16", 51901);
    const enrollHub = openDriver(enrollIf, { driver: "uapi" });
    const provisionHub = openDriver(provisionIf, { driver: "uapi" });
    drivers.push(enrollHub, provisionHub);

    /** One enrollment over HTTP (server-made key) until its peer is on `hub`; both times in ms. */
    const enrollOne = async (networkId: string, hub: WgDriver, name: string) => {
      const t0 = performance.now();
      const created = await post("/api/v1/nodes", { networkId, name });
      const apiMs = performance.now() - t0;
      await arrival(worker, hub, created.node.publicKey as string);
      return { apiMs, totalMs: performance.now() - t0 };
    };

    // ── (d) one enrollment vs its physical floor ─────────────────────────────────────────────────
    options.log(`(d) ${ROUNDS} enrollments, interleaved with the floor`);
    await sql`create table bench_floor (id uuid primary key default gen_random_uuid(), name text not null,
              public_key text not null, ip4 inet not null)`;
    let round = 0;
    const d = await interleave(ROUNDS, {
      ours: async () => (await enrollOne(enrollId, enrollHub, `single-${round++}`)).totalMs,
      base: () =>
        elapsedMs(async () => {
          const key = generateKeyPair().publicKey;
          const ip = `10.201.0.${round}`;
          await sql`insert into bench_floor (name, public_key, ip4) values (${`floor-${round}`}, ${key}, ${ip})`;
          await enrollHub.apply(
            checkPlan({
              add: [{ publicKey: key, allowedIps: [`${ip}/32`] }],
              remove: [],
              update: [],
              unexpected: [],
              reason: "floor",
            }),
          );
          const state = await enrollHub.dump();
          if (!state.peers.some((p) => p.publicKey === key)) throw new Error("the floor's peer is missing");
        }),
    });
    out.push(
      pairedRow(
        {
          name: "(d) one enrollment over HTTP until its peer is on the interface",
          unit: "ms",
          baselineName: "floor: keygen + INSERT + one UAPI set",
          target: { of: "ratio", compare: "<=", value: 4 },
          note: "server-made key; no pause between rounds (the apply throttle is the product's 250 ms); both end with one dump showing the peer",
        },
        d,
      ),
    );

    // ── (e) a burst of concurrent enrollments ─────────────────────────────────────────────────────
    options.log(`(e) ${BURST} enrollments, ${BURST_CONCURRENCY} at a time`);
    // The floor's peers are not the database's: drop them first.
    await platform.services.peerSync.syncNetwork(enrollId, { removeUnknown: true, reportDrift: false });
    const writesBefore = counter.writes(enrollIf);
    const burstKeys: string[] = [];
    const burstStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: BURST_CONCURRENCY }, async () => {
        while (next < BURST) {
          const i = next++;
          burstKeys.push(
            (await post("/api/v1/nodes", { networkId: enrollId, name: `burst-${i}` })).node.publicKey,
          );
        }
      }),
    );
    await until(
      "every burst peer on the interface",
      async () => {
        const keys = new Set((await enrollHub.dump()).peers.map((p) => p.publicKey));
        return burstKeys.every((k) => keys.has(k));
      },
      { timeoutMs: 120_000, everyMs: 5 },
    );
    const convergedMs = performance.now() - burstStart;
    const writes = counter.writes(enrollIf) - writesBefore;
    // Per enrollment: a lone change is applied at once (the leading edge), so a burst's changes that
    // find the interface idle each write before the rest coalesce; writing once per change scores 1.
    const windows = Math.ceil(convergedMs / MIN_APPLY_INTERVAL_MS);
    out.push(
      checkRow({
        name: `(e) ${BURST} enrollments, ${BURST_CONCURRENCY} at a time: interface writes per enrollment`,
        unit: "writes",
        ours: writes / BURST,
        target: { of: "ours", compare: "<=", value: 0.25 },
        note: `${writes} writes received by wireguard-go over ${windows} windows of ${MIN_APPLY_INTERVAL_MS} ms (${(convergedMs / 1000).toFixed(1)} s until every peer was on the interface)`,
      }),
    );

    // ── provisioning: one after another into a fresh network ──────────────────────────────────────
    options.log(`provisioning ${SIZES.at(-1)} nodes one after another`);
    const provisioned: { apiMs: number; totalMs: number }[] = [];
    const provisionStart = performance.now();
    let from = 0;
    for (const size of SIZES) {
      const windowStart = performance.now();
      while (provisioned.length < size)
        provisioned.push(await enrollOne(provisionId, provisionHub, `node-${provisioned.length}`));
      const window = provisioned.slice(from);
      const perNodeMs = (performance.now() - windowStart) / window.length;
      out.push(
        pairedRow(
          {
            name: `provisioning one by one, nodes ${from + 1}–${size}: enrollment → peer on the interface`,
            unit: "ms",
            baselineName: "its own API call",
            target: { of: "ratio", compare: "<=", value: 2 },
            note: `${perNodeMs.toFixed(1)} ms per node in this stretch (API call p50 ${median(window.map((w) => w.apiMs)).toFixed(1)} ms)`,
          },
          { ours: window.map((w) => w.totalMs), base: window.map((w) => w.apiMs) },
        ),
      );
      from = size;
    }
    options.log(
      `provisioned ${provisioned.length} nodes in ${((performance.now() - provisionStart) / 1000).toFixed(1)} s`,
    );
    return out;
  } finally {
    for (const driver of drivers) driver.close();
    await runtime.close();
    await server.close(1_000);
    await world.close();
  }
}
