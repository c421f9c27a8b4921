/**
 * Two hub hosts and two API processes on one Postgres and one Redis prefix, every one a real
 * process: each worker owns one network's wireguard-go interface in a namespace of its own.
 * Enrollments through either API reach the right interface and only it, drift through either API
 * answers for either network, a full sync run fans out to both holders, and killing one API
 * changes nothing.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { openDriver } from "../../../src/wireguard/index.js";
import type { Json } from "../../support/http.js";
import { createNetwork } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import type { HubHost } from "../../support/worker-process.js";
import {
  bundleWorkerEntry,
  spawnBundle,
  startHubHost,
  workerChildEnv,
} from "../../support/worker-process.js";

const WAIT = { timeout: 60_000, interval: 200 };

describeNetns("two hub hosts and two API processes", () => {
  let lab: Lab;
  let t: TestPlatform;
  let dataDir: string;
  /** Bundled entry points: a start costs about a second of CPU instead of several. */
  let entries: { worker: string; api: string };
  const processes: SpawnedProcess[] = [];
  const suffix = randomBytes(3).toString("hex");
  const hubs: Record<"a" | "b", HubHost> = {
    a: { id: `hub-a-${suffix}`, ns: "", iface: "" },
    b: { id: `hub-b-${suffix}`, ns: "", iface: "" },
  };

  beforeAll(async () => {
    lab = createLab();
    for (const hub of Object.values(hubs)) {
      hub.ns = await lab.namespace();
      hub.iface = lab.interfaceName(hub.ns);
    }
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-hubs-"));
    entries = { worker: bundleWorkerEntry(), api: bundleWorkerEntry("apps/api/main.ts") };
    t = await createTestPlatform();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop(2_000)));
    await t?.close();
    await lab?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    for (const entry of Object.values(entries ?? {})) await rm(entry, { force: true });
  });

  function startHub(host: HubHost, network: string): SpawnedProcess {
    const worker = startHubHost(t, { entry: entries.worker, dataDir, host, network, leaseSeconds: 15 });
    processes.push(worker);
    return worker;
  }

  async function startApi(): Promise<{ api: SpawnedProcess; url: string }> {
    const api = spawnBundle(entries.api, workerChildEnv(t, dataDir, { PORT: "0", HOST: "127.0.0.1" }));
    processes.push(api);
    const [, url] = await api.waitForOutput(/"url":"(http:\/\/[^"]+)"/, 120_000);
    return { api, url: url! };
  }

  async function call(url: string, route: string, init: { method?: string; body?: unknown } = {}) {
    const res = await fetch(`${url}${route}`, {
      method: init.method ?? "GET",
      headers: { "X-API-Key": t.adminKey, "Content-Type": "application/json" },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  }

  async function peersOf(iface: string): Promise<string[]> {
    const driver = openDriver(iface, { driver: "uapi" });
    try {
      return (await driver.dump()).peers.map((p) => p.publicKey).sort();
    } finally {
      driver.close();
    }
  }

  it("routes every network's work to its own hub host, through either API", async () => {
    const netA = await createNetwork(t, {
      name: `siteA-${suffix}`,
      cidr4: "10.151.0.0/24",
      listenPort: 52151,
    });
    const netB = await createNetwork(t, {
      name: `siteB-${suffix}`,
      cidr4: "10.152.0.0/24",
      listenPort: 52152,
    });
    startHub(hubs.a, netA.name);
    startHub(hubs.b, netB.name);
    const [one, two] = await Promise.all([startApi(), startApi()]);

    // Both networks are served, each by its own host, as /health/ready on either API says.
    for (const api of [one, two]) {
      await vi.waitFor(async () => {
        const { body } = await call(api.url, "/health/ready");
        const state = (id: string) => body.hubs.networks.find((n: Json) => n.networkId === id);
        expect(state(netA.id)).toMatchObject({ state: "serving", hubId: hubs.a.id });
        expect(state(netB.id)).toMatchObject({ state: "serving", hubId: hubs.b.id });
        expect(body.hubs.absent).toEqual([]);
      }, WAIT);
    }

    const enroll = async (url: string, networkId: string) => {
      const { status, body } = await call(url, "/api/v1/nodes", {
        method: "POST",
        body: { networkId, name: `n-${randomBytes(3).toString("hex")}` },
      });
      expect(status, JSON.stringify(body)).toBe(201);
      return body.data.node.publicKey as string;
    };
    const onA = [await enroll(one.url, netA.id), await enroll(two.url, netA.id)];
    const onB = [await enroll(one.url, netB.id), await enroll(two.url, netB.id)];
    await vi.waitFor(async () => {
      expect(await peersOf(hubs.a.iface)).toEqual([...onA].sort());
      expect(await peersOf(hubs.b.iface)).toEqual([...onB].sort());
    }, WAIT);

    for (const api of [one, two]) {
      for (const [net, hub] of [
        [netA, hubs.a],
        [netB, hubs.b],
      ] as const) {
        const { status, body } = await call(api.url, `/api/v1/networks/${net.id}/drift`);
        expect(status, JSON.stringify(body)).toBe(200);
        expect(body.data).toMatchObject({
          networkId: net.id,
          managed: true,
          iface: hub.iface,
          missing: [],
          unexpected: [],
          mismatched: [],
        });
      }
    }

    // A full sync run: its peers and usage tasks run on each network's holder.
    const started = await call(two.url, "/api/v1/sync/full", { method: "POST", body: {} });
    expect(started.status).toBe(202);
    let run: Json;
    await vi.waitFor(async () => {
      run = (await call(one.url, `/api/v1/sync/status/${started.body.data.sync_log_id}`)).body.data;
      expect(run.status).toBe("COMPLETED");
    }, WAIT);
    expect(run.itemsFailed).toBe(0);
    const peersItem = (id: string) => run.items.find((i: Json) => i.kind === "peers" && i.id === id);
    expect(peersItem(netA.id).note).toContain(`${hubs.a.iface}:`);
    expect(peersItem(netB.id).note).toContain(`${hubs.b.iface}:`);
    expect(peersItem(netA.id).note).toContain("2 peers");
    expect(peersItem(netB.id).note).toContain("2 peers");

    // One API process dies; the other carries on alone.
    one.api.child.kill("SIGKILL");
    await one.api.exited;
    const late = { a: await enroll(two.url, netA.id), b: await enroll(two.url, netB.id) };
    await vi.waitFor(async () => {
      expect(await peersOf(hubs.a.iface)).toEqual([...onA, late.a].sort());
      expect(await peersOf(hubs.b.iface)).toEqual([...onB, late.b].sort());
    }, WAIT);
    for (const net of [netA, netB]) {
      const { status, body } = await call(two.url, `/api/v1/networks/${net.id}/drift`);
      expect(status).toBe(200);
      expect(body.data).toMatchObject({ managed: true, missing: [], unexpected: [] });
    }
  }, 300_000);
});
