/**
 * A peer-sync worker killed with SIGKILL in the middle of a large sync: BullMQ hands the stalled job
 * to the next worker, the run ends COMPLETED, and the interface matches the database exactly.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { openDriver } from "../../../src/wireguard/index.js";
import { TEST_REDIS_URL } from "../../support/env.js";
import { json } from "../../support/http.js";
import { createNetwork, insertNodes } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import { insertNetworks } from "../../support/networks.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";

const PEERS = 3_000;
/** Networks without an interface here, so the run has many checkpoints to be killed between. */
const OTHER_NETWORKS = 1_500;

describeNetns("a peer-sync worker killed in the middle of a large sync", () => {
  let lab: Lab;
  let hubNs: string;
  let hubIface: string;
  let t: TestPlatform;
  let dataDir: string;
  const workers: SpawnedProcess[] = [];

  const startWorker = () => {
    const w = spawnEntry("workers/main.ts", {
      DATABASE_URL: t.db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: t.prefix,
      API_KEY: t.adminKey,
      JWT_SECRET: t.jwtSecret,
      ENCRYPTION_KEY: t.encryptionKey.toString("hex"),
      DATA_DIR: dataDir,
      WORKER_QUEUES: "peer-sync",
      WG_INTERFACES: `killtest=${hubIface}@${hubNs}`,
      WORKER_LOCK_DURATION_MS: "3000",
      SCHEDULER_ENABLED: "false",
      LOG_LEVEL: "warn",
    });
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    lab = createLab();
    hubNs = await lab.namespace();
    hubIface = lab.interfaceName(hubNs);
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-kill-"));
    t = await createTestPlatform();
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) await w.stop(1_000);
    await t?.close();
    await lab?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("ends COMPLETED after a retry, with the interface exactly as the database says", async () => {
    const net = await createNetwork(t, { name: "killtest", cidr4: "172.20.0.0/20", listenPort: 51831 });
    const keys = await insertNodes(t.db.database.db, net.id, PEERS, "172.20.0.2");
    await insertNetworks(t.db.database.db, OTHER_NETWORKS, "aaa-other", t.platform.secrets);

    const first = startWorker();
    const started = await json(await t.request("/api/v1/sync/peers", { method: "POST", body: {} }));
    const runId = started.data.sync_log_id as string;
    await vi.waitFor(
      async () => {
        const run = (await json(await t.request(`/api/v1/sync/status/${runId}`))).data;
        expect(run.status).toBe("RUNNING");
        expect(run.itemsSynced).toBeGreaterThan(0);
      },
      { timeout: 60_000, interval: 50 },
    );
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    const midway = (await json(await t.request(`/api/v1/sync/status/${runId}`))).data;
    expect(midway.status).toBe("RUNNING");
    expect(midway.itemsSynced).toBeLessThan(midway.itemsTotal);

    startWorker();
    let run: Record<string, unknown> = {};
    await vi.waitFor(
      async () => {
        run = (await json(await t.request(`/api/v1/sync/status/${runId}`))).data;
        expect(run.status).toBe("COMPLETED");
      },
      { timeout: 120_000, interval: 250 },
    );
    expect(run).toMatchObject({
      itemsFailed: 0,
      itemsTotal: OTHER_NETWORKS + 1,
      itemsSynced: OTHER_NETWORKS + 1,
    });
    const row = await t.db.database.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) });
    expect(row?.attempts).toBeGreaterThanOrEqual(2);

    const hub = openDriver(hubIface, { driver: "auto" });
    try {
      const state = await hub.dump();
      expect(state.publicKey).toBe(net.hubPublicKey);
      expect(state.peers).toHaveLength(PEERS);
      expect(new Set(state.peers.map((p) => p.publicKey))).toEqual(new Set(keys));
      const rows = await t.db.database.db.query.nodes.findMany({ columns: { publicKey: true, ip4: true } });
      const ipOf = new Map(rows.map((r) => [r.publicKey, `${r.ip4}/32`]));
      for (const peer of state.peers) expect(peer.allowedIps).toEqual([ipOf.get(peer.publicKey)]);
    } finally {
      hub.close();
    }
  }, 240_000);
});
