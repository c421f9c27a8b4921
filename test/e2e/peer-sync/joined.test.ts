/**
 * The targeted apply of enrolled nodes on a real wireguard-go hub: an enrollment records its node in
 * `pending_joins` with the node and queues a trigger naming the network, and the worker adds just the
 * pending nodes' peers in one write, reading neither the rest of the network nor the interface, then
 * deletes their rows. Writes and reads are counted at the platform's own driver (wrapped); the
 * interface is checked through a second driver the platform does not count.
 */
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { pendingJoinIds } from "../../../src/mesh/mesh.repo.js";
import type { InterfaceOps, SyncOutcome } from "../../../src/peer-sync/index.js";
import { realInterfaceOps } from "../../../src/peer-sync/index.js";
import type { WgDriver, WgPort } from "../../../src/wireguard/index.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { startTestWorkers } from "../../support/workers.js";

const WINDOW_MS = 200;
const WAIT = { timeout: 20_000, interval: 50 };

describeNetns("targeted apply of joined nodes on a real hub interface", () => {
  let lab: Lab;
  let hubNs: string;
  let hubIface: string;
  let t: TestPlatform;
  let hub: WgDriver;
  let networkId: string;
  let workers: WorkerRuntime | undefined;
  /** Writes and reads the platform made on the hub interface, and when each write went out. */
  const seen = { writes: 0, dumps: 0, writeTimes: [] as number[] };
  let gate: Promise<void> | null = null;
  let inFlight = 0;
  /** Set: the next write fails (an interface that refuses it), with an error that is not WireGuard's. */
  let failNext = false;

  /** The platform's driver, counted; a write waits at `gate` while one is set (a write in flight). */
  const counted = (port: WgPort & { close?(): void }): WgPort & { close?(): void } => ({
    name: port.name,
    dump() {
      seen.dumps++;
      return port.dump();
    },
    async apply(plan) {
      inFlight++;
      await gate;
      if (failNext) {
        failNext = false;
        throw new Error("write refused (test)");
      }
      seen.writeTimes.push(performance.now());
      const done = await port.apply(plan);
      seen.writes += done.writes;
      return done;
    },
    close: () => port.close?.(),
  });

  const hubPeers = async () =>
    new Map((await hub.dump()).peers.map((p) => [p.publicKey, [...p.allowedIps].sort()] as const));
  const enroll = async () => {
    const created = await createNode(t, networkId);
    return {
      id: created.node.id as string,
      key: created.node.publicKey as string,
      ip4: created.node.ip4 as string,
    };
  };
  const joined = () => t.platform.services.peerSync.applyJoined(networkId);
  /** The network's pending joins, by node id. */
  const pending = async () => (await pendingJoinIds(t.db.database.db, networkId)).sort();
  const fullSync = () =>
    t.platform.services.peerSync.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
  const peerSyncJobs = () => t.platform.queue.queues["peer-sync"];
  const queueIdle = async () =>
    expect(await peerSyncJobs().getJobCounts("active", "waiting", "prioritized")).toEqual({
      active: 0,
      waiting: 0,
      prioritized: 0,
    });
  /** Waits until every one of `nodes` is on the hub and no peer-sync job is left to run. */
  const untilApplied = (nodes: readonly { key: string; ip4: string }[]) =>
    vi.waitFor(async () => {
      const peers = await hubPeers();
      for (const n of nodes) expect(peers.get(n.key)).toEqual([`${n.ip4}/32`]);
      await queueIdle();
    }, WAIT);

  beforeAll(async () => {
    lab = createLab();
    hubNs = await lab.namespace();
    hubIface = lab.interfaceName(hubNs);
    const bindings = [{ network: "joined", iface: hubIface, netns: hubNs }];
    const real = realInterfaceOps("auto", { bindings });
    const ops: InterfaceOps = { ...real, open: (b) => counted(real.open(b)) };
    t = await createTestPlatform({
      wireguard: { interfaces: bindings, driver: "auto", minApplyIntervalMs: WINDOW_MS },
      interfaceOps: ops,
    });
    networkId = (await createNetwork(t, { name: "joined", cidr4: "10.124.0.0/24", listenPort: 51831 })).id;
    // The first full sync brings the interface up; targeted applies build on it.
    await fullSync();
    hub = openDriver(hubIface, { driver: "auto", netns: hubNs });
  }, 60_000);

  beforeEach(async () => {
    // Triggers left by earlier tests (no worker runs until the last tests) would coalesce new ones.
    await peerSyncJobs().obliterate({ force: true });
  });

  afterAll(async () => {
    hub?.close();
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it("applies a joined node in one write without reading the interface, and deletes its pending row", async () => {
    const node = await enroll();
    expect(await pending()).toEqual([node.id]);
    const before = { ...seen };
    const outcome = await joined();
    expect(seen.writes - before.writes).toBe(1);
    expect(seen.dumps - before.dumps).toBe(0);
    expect(outcome).toMatchObject({ managed: true, writes: 1, peers: 1, coalesced: false });
    expect(outcome.note).toMatch(/targeted/);
    expect((await hubPeers()).get(node.key)).toEqual([`${node.ip4}/32`]);
    expect(await pending()).toEqual([]);
    // Applying again (a duplicate job) finds nothing pending and writes nothing.
    expect(await joined()).toMatchObject({ writes: 0 });
    expect((await hubPeers()).get(node.key)).toEqual([`${node.ip4}/32`]);
  });

  it("leaves a pending row whose write failed, and the next apply adds its peer and deletes it", async () => {
    const node = await enroll();
    failNext = true;
    await expect(joined()).rejects.toThrow(/write refused/);
    expect((await hubPeers()).has(node.key)).toBe(false);
    expect(await pending()).toEqual([node.id]);
    const before = seen.writes;
    expect(await joined()).toMatchObject({ writes: 1, peers: 1 });
    expect(seen.writes - before).toBe(1);
    expect((await hubPeers()).get(node.key)).toEqual([`${node.ip4}/32`]);
    expect(await pending()).toEqual([]);
  });

  it("deletes a disabled node's pending row without adding its peer", async () => {
    const node = await enroll();
    const disabled = await t.request(`/api/v1/nodes/${node.id}`, {
      method: "PATCH",
      body: { status: "disabled" },
    });
    expect(disabled.status).toBe(200);
    expect(await pending()).toEqual([node.id]);
    const before = seen.writes;
    expect(await joined()).toMatchObject({ writes: 0, peers: 0 });
    expect(seen.writes).toBe(before);
    expect((await hubPeers()).has(node.key)).toBe(false);
    expect(await pending()).toEqual([]);
  });

  it("does not add a node deleted before its targeted apply; a node deleted after it leaves with the full sync", async () => {
    const gone = await enroll();
    expect(await pending()).toEqual([gone.id]);
    expect((await t.request(`/api/v1/nodes/${gone.id}`, { method: "DELETE" })).status).toBe(200);
    // Its pending row went with it (on delete cascade).
    expect(await pending()).toEqual([]);
    const before = seen.writes;
    const outcome = await joined();
    expect(outcome.writes).toBe(0);
    expect(seen.writes).toBe(before);
    expect((await hubPeers()).has(gone.key)).toBe(false);

    const late = await enroll();
    await joined();
    expect((await hubPeers()).has(late.key)).toBe(true);
    expect((await t.request(`/api/v1/nodes/${late.id}`, { method: "DELETE" })).status).toBe(200);
    await fullSync();
    expect((await hubPeers()).has(late.key)).toBe(false);
  });

  it("two targeted applies and a full sync at once take turns on the interface: one write, the deleted node absent", async () => {
    const [n1, n2, n3] = [await enroll(), await enroll(), await enroll()];
    expect((await t.request(`/api/v1/nodes/${n3.id}`, { method: "DELETE" })).status).toBe(200);
    // Past the window of the earlier tests' writes: two pending nodes within it would be a burst,
    // left for a trailing apply that both targeted applies then share.
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const before = seen.writes;
    // The first takes the interface at once and carries all pending joined nodes; the second finds
    // nothing left, and the full sync finds nothing missing.
    const [first, second, full] = await Promise.all([joined(), joined(), fullSync()]);
    expect(seen.writes - before).toBe(1);
    expect([first.writes, second.writes, full.writes]).toEqual([1, 0, 0]);
    expect(first.peers).toBe(2);
    const peers = await hubPeers();
    expect(peers.get(n1.key)).toEqual([`${n1.ip4}/32`]);
    expect(peers.get(n2.key)).toEqual([`${n2.ip4}/32`]);
    expect(peers.has(n3.key)).toBe(false);
    expect(full.drift).toEqual({ missing: [], unexpected: [], mismatched: [] });
  });

  it("a burst of joined nodes while a write is in flight lands in exactly two writes, the second a window after the first", async () => {
    const nodes: Awaited<ReturnType<typeof enroll>>[] = [await enroll()];
    // Past the window of any earlier write: the first apply is a lone change, applied at once.
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const before = { writes: seen.writes, times: seen.writeTimes.length };
    let release!: () => void;
    gate = new Promise<void>((r) => {
      release = r;
    });
    const entered = inFlight;
    const lead = joined();
    await vi.waitFor(() => expect(inFlight).toBe(entered + 1), WAIT);
    // Enrolled after the lead's read, while its write is in flight.
    for (let i = 0; i < 10; i++) nodes.push(await enroll());
    const rest: Promise<SyncOutcome>[] = [];
    for (let i = 0; i < 10; i++) rest.push(joined());
    gate = null;
    release();
    const outcomes = await Promise.all([lead, ...rest]);
    // Writing once per change would make 11 writes; the leading write plus one trailing batch is 2.
    expect(seen.writes - before.writes).toBe(2);
    expect(outcomes[0]).toMatchObject({ writes: 1, peers: 1, coalesced: false });
    for (const o of outcomes.slice(1)) expect(o).toMatchObject({ writes: 1, peers: 10, coalesced: true });
    const [t1, t2] = seen.writeTimes.slice(before.times);
    // A window shorter than promised would write sooner.
    expect(t2! - t1!).toBeGreaterThanOrEqual(WINDOW_MS);
    const peers = await hubPeers();
    for (const n of nodes) expect(peers.get(n.key)).toEqual([`${n.ip4}/32`]);
    expect(await pending()).toEqual([]);
  });

  it("right after a write, one pending node is applied at once and two or more wait for the trailing write", async () => {
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const before = { writes: seen.writes, times: seen.writeTimes.length };
    const first = await enroll();
    expect(await joined()).toMatchObject({ writes: 1, peers: 1, coalesced: false });
    // Within the window of that write: a lone node (a client enrolling one after another) goes at once.
    const second = await enroll();
    expect(await joined()).toMatchObject({ writes: 1, peers: 1, coalesced: false });
    // Two pending within the window of a write are a burst's: they wait for its trailing write.
    const pair = [await enroll(), await enroll()];
    expect(await joined()).toMatchObject({ writes: 1, peers: 2, coalesced: true });
    expect(seen.writes - before.writes).toBe(3);
    const [, t2, t3] = seen.writeTimes.slice(before.times);
    expect(t3! - t2!).toBeGreaterThanOrEqual(WINDOW_MS);
    const peers = await hubPeers();
    for (const n of [first, second, ...pair]) expect(peers.get(n.key)).toEqual([`${n.ip4}/32`]);
    expect(await pending()).toEqual([]);
  });

  it("falls back to a full sync for a node with routes behind it (the interface's routes change too), which deletes its row", async () => {
    const router = await createNode(t, networkId, { extraAllowedIps: ["192.168.77.0/24"] });
    // Enrolled through the transaction (routes): its pending row was written there.
    expect(await pending()).toEqual([router.node.id]);
    const outcome = await joined();
    expect(outcome.note).not.toMatch(/targeted/);
    expect((await hubPeers()).get(router.node.publicKey)).toEqual([
      `${router.node.ip4}/32`,
      "192.168.77.0/24",
    ]);
    const routes = await lab.exec(hubNs, "ip", ["route", "show", "dev", hubIface]);
    expect(routes.stdout).toMatch(/192\.168\.77\.0\/24/);
    expect(await pending()).toEqual([]);
  });

  it("a targeted apply between a hub key switch and its full sync adds the peer and leaves the key to the full sync", async () => {
    const node = await enroll();
    const oldKey = (await hub.dump()).publicKey;
    const switched = await t.request(`/api/v1/networks/${networkId}/rotate-hub-key?now=true`, {
      method: "POST",
      body: {},
    });
    expect(switched.status).toBe(200);
    const newKey = (await json(await t.request(`/api/v1/networks/${networkId}`))).data.hubPublicKey as string;
    expect(newKey).not.toBe(oldKey);
    const outcome = await joined();
    expect(outcome).toMatchObject({ writes: 1, peers: 1 });
    let state = await hub.dump();
    expect(state.publicKey).toBe(oldKey);
    expect(state.peers.find((p) => p.publicKey === node.key)?.allowedIps).toEqual([`${node.ip4}/32`]);
    // The switch's own trigger is a full sync: it re-keys the interface and keeps the joined peer.
    const full = await fullSync();
    expect(full.changed).toContain("privateKey");
    state = await hub.dump();
    expect(state.publicKey).toBe(newKey);
    expect(state.peers.find((p) => p.publicKey === node.key)?.allowedIps).toEqual([`${node.ip4}/32`]);
  });

  it("a burst of enrollments with no worker running leaves one targeted job and a pending row each; the worker applies them all in one write", async () => {
    await fullSync(); // nothing pending from earlier tests
    expect(await pending()).toEqual([]);
    const burst = await Promise.all(Array.from({ length: 12 }, () => enroll()));
    const jobs = (await peerSyncJobs().getJobs(["waiting", "prioritized", "delayed", "active"])).filter(
      (j) => j.name === "network-sync" && j.data.networkId === networkId,
    );
    // One Redis add per enrollment, all coalesced into the first: the job names only the network.
    expect(jobs.map((j) => j.data)).toEqual([expect.objectContaining({ networkId, joined: true })]);
    expect(await pending()).toEqual(burst.map((n) => n.id).sort());
    const before = { ...seen };
    workers ??= await startTestWorkers(t.platform, { queues: ["peer-sync"], concurrency: 4 });
    await untilApplied(burst);
    expect(seen.writes - before.writes).toBe(1);
    expect(seen.dumps - before.dumps).toBe(0);
    expect(await pending()).toEqual([]);
  });

  it("through the queue and the worker: enrollments one by one are targeted writes, a burst converges", async () => {
    workers ??= await startTestWorkers(t.platform, { queues: ["peer-sync"], concurrency: 4 });
    const before = { ...seen };
    const lone: Awaited<ReturnType<typeof enroll>>[] = [];
    for (let i = 0; i < 3; i++) {
      const n = await enroll();
      lone.push(n);
      await vi.waitFor(async () => expect((await hubPeers()).has(n.key)).toBe(true), WAIT);
      // Its job finished too, so the next enrollment's trigger is not coalesced into it.
      await vi.waitFor(queueIdle, WAIT);
    }
    // One write each and no read of the interface: no full sync ran.
    expect(seen.writes - before.writes).toBe(3);
    expect(seen.dumps - before.dumps).toBe(0);

    const burst = await Promise.all(Array.from({ length: 30 }, () => enroll()));
    await vi.waitFor(async () => {
      const peers = await hubPeers();
      for (const n of burst) expect(peers.get(n.key)).toEqual([`${n.ip4}/32`]);
      expect(await pending()).toEqual([]);
    }, WAIT);
  });

  it("through the queue, with its per-network coalescing: enrollments while a write is in flight land in the leading write and one trailing write a window later", async () => {
    workers ??= await startTestWorkers(t.platform, { queues: ["peer-sync"], concurrency: 4 });
    await vi.waitFor(queueIdle, WAIT);
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const before = { writes: seen.writes, times: seen.writeTimes.length };
    let release!: () => void;
    gate = new Promise<void>((r) => {
      release = r;
    });
    const entered = inFlight;
    const lead = await enroll();
    await vi.waitFor(() => expect(inFlight).toBe(entered + 1), WAIT);
    // Each of these is coalesced into the lead's running targeted job (BullMQ keeps one to run
    // after it); that one finds its nodes joined while the lead's write was in flight, so it waits
    // a window after that write, as the burst's trailing apply.
    const rest: Awaited<ReturnType<typeof enroll>>[] = [];
    for (let i = 0; i < 8; i++) rest.push(await enroll());
    gate = null;
    release();
    await untilApplied([lead, ...rest]);
    // A throttle writing each job at once (or with a shorter window) writes the trailing batch
    // right after the leading write.
    expect(seen.writes - before.writes).toBe(2);
    const [t1, t2] = seen.writeTimes.slice(before.times);
    expect(t2! - t1!).toBeGreaterThanOrEqual(WINDOW_MS);
  });
});
