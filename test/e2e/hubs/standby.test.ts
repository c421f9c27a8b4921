/**
 * A standby hub host takes a network over. Two hub hosts, real processes, each in a namespace of its
 * own, declare one network; the second is its standby. A node reaches the hub at a service address
 * both hosts answer at (routed to the active host first, to the standby once the active host's link
 * is gone, as anycast or VRRP would). The active host dies outright (its worker and its wireguard-go
 * SIGKILLed, its link gone) while the node pings the hub: the standby takes the lease over once it
 * expires, brings the interface up with the same key, port and peers, and pings resume. Sampling
 * both interfaces all along, never do both carry the network's peers. The old host, started again,
 * stays standby.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import { auditLog, events } from "../../../src/db/index.js";
import { readLeases } from "../../../src/hubs/index.js";
import { findWireguardGo, openDriver } from "../../../src/wireguard/index.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import type { HubHost } from "../../support/worker-process.js";
import { bundleWorkerEntry, startHubHost } from "../../support/worker-process.js";

const LEASE_SECONDS = 15;
/**
 * A node re-handshakes once it heard nothing for 15 s (WireGuard's keepalive plus rekey timeout),
 * so pings resume after the lease expired and, at worst, that long after the last answer.
 */
const RESUME_WITHIN_MS = (LEASE_SECONDS + 15 + 10) * 1_000;
const WAIT = { timeout: 60_000, interval: 200 };
/**
 * No reply for this long means the pings were not being answered. The standby serves only once the
 * dead host's lease expired, seconds after the death, while the node pings every 200 ms.
 */
const OUTAGE_MS = 1_000;
const SERVICE_IP = "10.254.77.1";

describeNetns("a standby hub host takes a network over", () => {
  let lab: Lab;
  let t: TestPlatform;
  let dataDir: string;
  let entry: string;
  let client: { ns: string; iface: string };
  const processes: SpawnedProcess[] = [];
  let pinger: ChildProcess | undefined;
  const suffix = randomBytes(3).toString("hex");
  const hosts = {
    a: { id: `active-${suffix}`, ns: "", iface: "", link: "" },
    b: { id: `standby-${suffix}`, ns: "", iface: "", link: "" },
  };

  beforeAll(async () => {
    lab = createLab();
    client = { ns: await lab.namespace(), iface: "" };
    client.iface = lab.interfaceName(client.ns);
    for (const [i, host] of [hosts.a, hosts.b].entries()) {
      host.ns = await lab.namespace();
      host.iface = lab.interfaceName(host.ns);
      const subnet = `192.168.${171 + i}`;
      [host.link] = await lab.veth(
        { netns: host.ns, address: `${subnet}.1/24` },
        { netns: client.ns, address: `${subnet}.2/24` },
      );
      // The service address the network's endpoint names, on both hosts.
      await lab.exec(host.ns, "ip", ["address", "add", `${SERVICE_IP}/32`, "dev", "lo"]);
      await lab.exec(client.ns, "ip", [
        "route",
        "add",
        `${SERVICE_IP}/32`,
        "via",
        `${subnet}.1`,
        "metric",
        String(10 * (i + 1)),
      ]);
    }
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-standby-"));
    entry = bundleWorkerEntry();
    t = await createTestPlatform();
  }, 120_000);

  afterAll(async () => {
    pinger?.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.stop(2_000)));
    await t?.close();
    await lab?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (entry) await rm(entry, { force: true });
  });

  function startHost(host: HubHost, network: string): SpawnedProcess {
    const worker = startHubHost(t, { entry, dataDir, host, network, leaseSeconds: LEASE_SECONDS });
    processes.push(worker);
    return worker;
  }

  /** The interface's peers, or null when it does not exist (its host is gone). */
  async function peersOf(iface: string): Promise<string[] | null> {
    const driver = openDriver(iface, { driver: "uapi" });
    try {
      return (await driver.dump()).peers.map((p) => p.publicKey);
    } catch {
      return null;
    } finally {
      driver.close();
    }
  }

  it("keeps exactly one host serving across the active host's death, and the old host stays standby", async () => {
    const net = await createNetwork(t, {
      name: `standby-${suffix}`,
      cidr4: "10.173.0.0/24",
      endpoint: `${SERVICE_IP}:52173`,
      listenPort: 52173,
      persistentKeepalive: 1,
    });
    const patched = await t.request(`/api/v1/networks/${net.id}`, {
      method: "PATCH",
      body: { standbyHubId: hosts.b.id },
    });
    expect(patched.status).toBe(200);
    const node = await createNode(t, net.id);
    const leaseOf = async () => (await readLeases(t.platform.database.db, [net.id]))[0];

    const activeWorker = startHost(hosts.a, net.name);
    await vi.waitFor(async () => {
      expect(await leaseOf()).toMatchObject({ hubId: hosts.a.id, epoch: 1, live: true });
      expect(await peersOf(hosts.a.iface)).toEqual([node.node.publicKey]);
    }, WAIT);
    startHost(hosts.b, net.name);
    // The standby is ready: the interface is up with the network's key and port, and no peers.
    await vi.waitFor(async () => {
      const driver = openDriver(hosts.b.iface, { driver: "uapi" });
      try {
        const state = await driver.dump();
        expect(state).toMatchObject({ publicKey: net.hubPublicKey, listenPort: 52173, peers: [] });
      } finally {
        driver.close();
      }
    }, WAIT);

    // Sample both interfaces for the rest of the test.
    const samples: { at: number; a: number; b: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [a, b] = await Promise.all([peersOf(hosts.a.iface), peersOf(hosts.b.iface)]);
        samples.push({ at: Date.now(), a: a?.length ?? 0, b: b?.length ?? 0 });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const res = await t.request(`/api/v1/nodes/${node.node.id}/config`, {
      key: null,
      headers: { Authorization: `Bearer ${node.token}` },
    });
    await applyWgQuickConfig(parseWgQuickConfig(await res.text()), { iface: client.iface, netns: client.ns });
    await vi.waitFor(async () => expect(await lab.ping(client.ns, net.hubIp4)).toBe(true), WAIT);

    const replies: number[] = [];
    pinger = spawn("ip", ["netns", "exec", client.ns, "ping", "-D", "-i", "0.2", "-W", "1", net.hubIp4], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    pinger.stdout!.on("data", (d: Buffer) => {
      for (const m of d.toString("utf8").matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm))
        replies.push(Number(m[1]) * 1_000);
    });
    await vi.waitFor(() => expect(replies.length).toBeGreaterThanOrEqual(10), WAIT);

    // The active host dies outright: its worker, its wireguard-go and its link.
    const daemons = await findWireguardGo(hosts.a.iface);
    expect(daemons).toHaveLength(1);
    const killedAt = Date.now();
    activeWorker.child.kill("SIGKILL");
    for (const pid of daemons) process.kill(pid, "SIGKILL");
    await lab.exec(hosts.a.ns, "ip", ["link", "del", hosts.a.link]);
    await activeWorker.exited;

    // The first answer after the outage. Not merely the first one stamped after `killedAt`: the
    // kill, the link's deletion and the node's own wireguard-go take a few ms, and under load the
    // dying host's last reply was read 8 ms after it (CI, once).
    const resumed = () =>
      replies.find((at, i) => at > killedAt && at - Math.max(replies[i - 1] ?? 0, killedAt) > OUTAGE_MS);
    await vi.waitFor(() => expect(resumed()).toBeDefined(), {
      timeout: RESUME_WITHIN_MS + 30_000,
      interval: 200,
    });
    const resumedAfterMs = resumed()! - killedAt;
    console.info(`pings resumed ${Math.round(resumedAfterMs)} ms after the active host died`);
    expect(resumedAfterMs).toBeLessThanOrEqual(RESUME_WITHIN_MS);
    expect(await leaseOf()).toMatchObject({ hubId: hosts.b.id, epoch: 2, live: true });
    expect(await peersOf(hosts.b.iface)).toEqual([node.node.publicKey]);

    const takeovers = await t.platform.database.db
      .select()
      .from(events)
      .where(eq(events.type, "hub.takeover"));
    expect(takeovers.map((e) => e.data)).toEqual([
      expect.objectContaining({
        network: { id: net.id, name: net.name },
        from: hosts.a.id,
        to: hosts.b.id,
        epoch: 2,
      }),
    ]);
    const audits = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "hub.takeover"));
    expect(audits.map((a) => a.entityId)).toEqual([net.id]);

    // The old host comes back: the lease is live and the standby's, so it stays standby.
    const back = startHost(hosts.a, net.name);
    await back.waitForOutput(/"why":"standby"/, 60_000);
    expect(await peersOf(hosts.a.iface)).toEqual([]);
    const before = replies.length;
    await vi.waitFor(() => expect(replies.length).toBeGreaterThanOrEqual(before + 2 * LEASE_SECONDS * 5), {
      timeout: 120_000,
      interval: 200,
    });
    expect(await leaseOf()).toMatchObject({ hubId: hosts.b.id, epoch: 2, live: true });
    expect(await peersOf(hosts.a.iface)).toEqual([]);

    sampling = false;
    await sampler;
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.filter((s) => s.a > 0 && s.b > 0)).toEqual([]);
    expect(samples.some((s) => s.a === 1)).toBe(true);
    expect(samples.some((s) => s.b === 1)).toBe(true);
  }, 300_000);
});
