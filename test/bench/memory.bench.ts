/**
 * Worker memory: what a peer-sync worker's process holds for a hub network of 10,000 nodes (the
 * network's desired set and plan memo, the driver's memo of the last answer, its read buffers),
 * measured as the growth of its resident set from the same worker idle with the network's interface
 * up and no nodes. Run in its own process (run.ts starts one per module) with `--expose-gc`.
 *
 *   npm run bench -- memory             (root, wireguard-go, Postgres, Redis)
 */
import type { BenchOptions, BenchRow } from "./harness.js";
import { checkRow } from "./harness.js";
import { createNetwork, insertNodes, openWorld, requireNetns } from "./lab.js";

const MB = 1024 * 1024;
/** What the README promises a worker needs per 10,000 nodes of a hub network, at most. */
const TARGET_MB_PER_10K = 150;

/** Resident set and heap after a full collection (when the process runs with --expose-gc). */
function settled(): { rss: number; heap: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: usage.heapUsed };
}

export async function rows(options: BenchOptions): Promise<BenchRow[]> {
  requireNetns("the memory bench");
  const NODES = options.quick ? 1_000 : 10_000;
  const world = await openWorld({
    interfaces: async (lab) => {
      const ns = await lab.namespace();
      return [{ network: "bench", iface: lab.interfaceName(ns), netns: ns }];
    },
    minApplyIntervalMs: 0,
  });
  try {
    const { platform, sql } = world;
    const sync = (id: string) =>
      platform.services.peerSync.syncNetwork(id, { removeUnknown: true, reportDrift: false });
    const networkId = await createNetwork(platform, {
      name: "bench",
      cidr4: "10.60.0.0/16",
      listenPort: 51960,
    });
    await sync(networkId); // the interface comes up, with no peers
    await sync(networkId);
    const idle = settled();
    // Made by Postgres: no row passes through this process before the peer sync reads them.
    await insertNodes(sql, networkId, { count: NODES, seed: "memory", firstHost: "10.60.0.2" });
    const first = await sync(networkId);
    if (first.peers !== NODES) throw new Error(`the sync saw ${first.peers} peers, not ${NODES}`);
    for (let i = 0; i < 3; i++) await sync(networkId); // steady state: what every later sync keeps
    const held = settled();
    const scale = 10_000 / NODES;
    options.log(`rss ${(idle.rss / MB).toFixed(1)} → ${(held.rss / MB).toFixed(1)} MB`);
    return [
      checkRow({
        name: `peer-sync worker memory per 10,000 nodes of one hub network${NODES === 10_000 ? "" : ` (measured at ${NODES}, scaled)`}`,
        unit: "MB",
        ours: ((held.rss - idle.rss) / MB) * scale,
        target: { of: "ours", compare: "<=", value: TARGET_MB_PER_10K },
        note: `resident set ${(idle.rss / MB).toFixed(0)} MB idle (interface up, no nodes) → ${(held.rss / MB).toFixed(0)} MB after syncing ${NODES} nodes; JS heap ${(idle.heap / MB).toFixed(0)} → ${(held.heap / MB).toFixed(0)} MB`,
      }),
    ];
  } finally {
    await world.close();
  }
}
