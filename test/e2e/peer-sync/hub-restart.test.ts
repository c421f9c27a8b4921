/**
 * The tunnel outlives the control plane: the peer-sync worker that owns a hub interface, run as a real
 * process, is stopped the way a terminal's Ctrl-C or a redeploy stops it (a signal to its whole
 * process group) and started again while a ping crosses the hub every 100 ms. At most one packet may
 * be lost; the new worker adopts the interface without a flap and reconciles it at once, not at the
 * next scheduled reconcile (the scheduler is off here, so nothing else could).
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { findWireguardGo, openDriver } from "../../../src/wireguard/index.js";
import { createNetwork, createNode, insertNodes } from "../../support/mesh.js";
import type { HubAndClients, Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClients } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { WorkerChild } from "../../support/worker-process.js";
import { bundleWorkerEntry, startWorkerChild, workerChildEnv } from "../../support/worker-process.js";

const WAIT = { timeout: 20_000, interval: 100 };
/** Well inside the scheduler's shortest reconcile interval, which is off here anyway. */
const RECONCILED_WITHIN_MS = 15_000;

describeNetns("a hub interface outlives the worker that manages it", () => {
  let lab: Lab;
  let hubNs: string;
  let hubIface: string;
  let ns: HubAndClients["ns"];
  let iface: HubAndClients["iface"];
  let t: TestPlatform;
  let entry: string;
  let dataDir: string;
  const children: WorkerChild[] = [];
  let pinger: ChildProcess | undefined;

  const startWorker = () => {
    const child = startWorkerChild(
      entry,
      workerChildEnv(t, dataDir, {
        WORKER_QUEUES: "peer-sync",
        WG_INTERFACES: `restart=${hubIface}@${hubNs}`,
        SCHEDULER_ENABLED: "false",
      }),
      { detached: true },
    );
    children.push(child);
    return child;
  };
  /** Stops the worker as Ctrl-C in its terminal would: the signal goes to its whole process group. */
  const stopGroup = async (child: WorkerChild) => {
    process.kill(-child.pid, "SIGTERM");
    await child.exited;
  };
  const reconciledLines = (child: WorkerChild) =>
    child.output
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "hub interface reconciled");
  const hubState = async () => {
    const driver = openDriver(hubIface, { driver: "uapi" });
    try {
      return await driver.dump();
    } finally {
      driver.close();
    }
  };
  const mtu = async () => {
    const out = await lab.exec(hubNs, "ip", ["-j", "link", "show", "dev", hubIface]);
    return (JSON.parse(out.stdout) as { mtu: number }[])[0]?.mtu;
  };

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface, ns, iface } = await hubAndClients(lab, ["192.168.101", "192.168.102"]));
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-restart-"));
    entry = bundleWorkerEntry();
    t = await createTestPlatform();
  }, 60_000);

  afterAll(async () => {
    pinger?.kill("SIGKILL");
    for (const c of children) {
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await t?.close();
    await lab?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (entry) await rm(entry, { force: true });
  });

  it("keeps a ping through the hub flowing across a stop and a start, and reconciles at once at start", async () => {
    const net = await createNetwork(t, {
      name: "restart",
      cidr4: "10.141.0.0/24",
      endpoint: "192.168.101.1:51871",
      listenPort: 51871,
      persistentKeepalive: 1,
      mtu: 1420,
    });
    const nodes = { c1: await createNode(t, net.id), c2: await createNode(t, net.id) };
    const first = startWorker();
    await first.ready;
    await vi.waitFor(() => expect(reconciledLines(first)).toHaveLength(1), WAIT);
    expect(reconciledLines(first)[0]).toMatchObject({ iface: hubIface, peers: 2 });
    for (const who of ["c1", "c2"] as const) {
      const res = await t.request(`/api/v1/nodes/${nodes[who].node.id}/config`, {
        key: null,
        headers: { Authorization: `Bearer ${nodes[who].token}` },
      });
      await applyWgQuickConfig(parseWgQuickConfig(await res.text()), { iface: iface[who], netns: ns[who] });
    }
    const target = nodes.c2.node.ip4 as string;
    await vi.waitFor(async () => expect(await lab.ping(ns.c1, target)).toBe(true), WAIT);
    const daemons = await findWireguardGo(hubIface);
    expect(daemons).toHaveLength(1);
    const sessionOf = async (key: string) =>
      (await hubState()).peers.find((p) => p.publicKey === key)?.latestHandshake;
    const c1Session = await sessionOf(nodes.c1.node.publicKey);
    expect(c1Session).toBeGreaterThan(0);

    let out = "";
    pinger = spawn("ip", ["netns", "exec", ns.c1, "ping", "-i", "0.1", "-W", "1", target], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    pinger.stdout!.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    const replies = () => (out.match(/bytes from/g) ?? []).length;
    await vi.waitFor(() => expect(replies()).toBeGreaterThanOrEqual(10), WAIT);

    await stopGroup(first);
    // While no worker runs: a node is enrolled straight into the database (no trigger job), and the
    // hub's MTU is changed by hand. Only a reconcile at start can put both right.
    const [inserted] = await insertNodes(t.db.database.db, net.id, 1, "10.141.0.50");
    expect((await lab.exec(hubNs, "ip", ["link", "set", "dev", hubIface, "mtu", "1300"])).exitCode).toBe(0);
    const whileDown = replies();
    await vi.waitFor(() => expect(replies()).toBeGreaterThanOrEqual(whileDown + 10), WAIT);

    const second = startWorker();
    const started = performance.now();
    await vi.waitFor(
      async () => {
        expect((await hubState()).peers.map((p) => p.publicKey)).toContain(inserted);
        expect(await mtu()).toBe(1420);
      },
      { timeout: RECONCILED_WITHIN_MS, interval: 100 },
    );
    const reconciledMs = performance.now() - started;
    console.info(`hub interface reconciled ${Math.round(reconciledMs)} ms after the worker was started`);
    await vi.waitFor(() => expect(reconciledLines(second)).toHaveLength(1), WAIT);
    const line = reconciledLines(second)[0]!;
    expect(line).toMatchObject({ iface: hubIface, netns: hubNs, network: "restart", peers: 3 });
    expect(line.changed).toContain("mtu 1300→1420");
    expect((line.changed as string[]).some((c) => c.includes("add"))).toBe(true);

    const afterStart = replies();
    await vi.waitFor(() => expect(replies()).toBeGreaterThanOrEqual(afterStart + 10), WAIT);
    await stopGroup(second);
    const finished = new Promise((resolve) => pinger!.once("exit", resolve));
    pinger.kill("SIGINT");
    await finished;
    const summary = /(\d+) packets transmitted, (\d+) received/.exec(out);
    expect(summary, out.slice(-500)).not.toBeNull();
    const [sent, received] = [Number(summary![1]), Number(summary![2])];
    console.info(`ping through the hub across a stop and a start: ${sent} sent, ${received} received`);
    expect(sent).toBeGreaterThanOrEqual(30);
    expect(sent - received).toBeLessThanOrEqual(1);

    // Adopted, not re-created: the same daemon, and c1's session with the hub is the one it had.
    expect(await findWireguardGo(hubIface)).toEqual(daemons);
    expect(await sessionOf(nodes.c1.node.publicKey)).toEqual(c1Session);
  }, 120_000);
});
