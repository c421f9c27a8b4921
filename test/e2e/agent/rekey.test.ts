/**
 * Re-keying end to end: an operator asks a node's agent (a real `wiresync-agent` process) to rotate
 * its key while a ping runs through the tunnel to the hub; the hub (real wireguard-go) learns the new
 * key before the node switches to it, keeps the old one without addresses until the new one shook
 * hands, and then drops it. A node whose key the server holds gets a new config that works, and a
 * new hub key reaches the agent by itself and the server-held node through its reissued config.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork, createNode } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClient } from "../../support/netns.js";
import type { PingRun } from "../../support/ping.js";
import { pingLosses, startPing } from "../../support/ping.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";
import { WgQuick } from "../../support/wg-quick.js";
import { startTestWorkers } from "../../support/workers.js";

const HUB_TUNNEL_IP = "10.126.0.1";
const WAIT = { timeout: 60_000, interval: 250 };
describeNetns("node re-key", () => {
  let lab: Lab;
  let hubNs: string;
  let nodeNs: string;
  let hubIface: string;
  let nodeIface: string;
  let t: TestPlatform;
  let server: RunningServer;
  let workers: WorkerRuntime;
  let stateDir: string;
  let networkId: string;
  let agent: SpawnedProcess | undefined;
  let ping: PingRun | undefined;
  let wgQuick: WgQuick | undefined;
  let clientNs: string;
  let clientIface: string;

  const hubPeers = async () => {
    const driver = openDriver(hubIface, { driver: "uapi" });
    try {
      return (await driver.dump()).peers.map((p) => ({ publicKey: p.publicKey, allowedIps: p.allowedIps }));
    } finally {
      driver.close();
    }
  };
  const getNode = async (id: string) => (await json(await t.request(`/api/v1/nodes/${id}`))).data;

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface, clientNs: nodeNs, clientIface: nodeIface } = await hubAndClient(lab, "192.168.76"));
    stateDir = await mkdtemp(path.join(tmpdir(), "wiresync-rekey-"));
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "rekey", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    server = await listen(t.app, 0, "127.0.0.1");
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    const net = await createNetwork(t, {
      name: "rekey",
      topology: "hub",
      cidr4: "10.126.0.0/24",
      endpoint: "192.168.76.1:51846",
      listenPort: 51846,
      persistentKeepalive: 1,
    });
    networkId = net.id;
  }, 90_000);

  afterAll(async () => {
    if (ping?.child.pid) ping.child.kill("SIGTERM");
    await agent?.stop(2_000);
    await wgQuick?.close();
    await workers?.close();
    await server?.close();
    await t?.close();
    await lab?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("rotates an agent node's key on an operator's request while a ping to the hub loses at most one packet", async () => {
    const enrollmentKey = await createEnrollmentKey(t, networkId, { reusable: false });
    agent = spawnEntry("apps/agent/main.ts", {
      WIRESYNC_URL: `http://127.0.0.1:${server.port}`,
      AGENT_ENROLLMENT_KEY: enrollmentKey,
      AGENT_STATE_DIR: stateDir,
      AGENT_INTERFACE: nodeIface,
      AGENT_NETNS: nodeNs,
      AGENT_NAME: "rotating",
      AGENT_HEARTBEAT_SECONDS: "5",
      AGENT_RELAY: "off",
    });
    await agent.waitForOutput(/"msg":"agent running"/, 60_000);
    const before = JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8"));
    await vi.waitFor(async () => expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(true), WAIT);

    ping = startPing(nodeNs, HUB_TUNNEL_IP);
    await vi.waitFor(() => expect(pingLosses(ping!.output()).answered).toBeGreaterThanOrEqual(5), WAIT);

    const res = await t.request(`/api/v1/nodes/${before.nodeId}/rekey`, { method: "POST" });
    expect(res.status).toBe(202);
    const asked = (await json(res)).data;
    expect(asked.mode).toBe("agent");
    expect(asked.node.keyRotationRequestedAt).not.toBeNull();
    expect(JSON.stringify(asked)).not.toContain(before.privateKey);

    await agent.waitForOutput(/"msg":"key rotated"/, 60_000);
    const after = JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8"));
    expect(after.publicKey).not.toBe(before.publicKey);
    expect(after.pendingPrivateKey).toBeUndefined();
    expect(agent.stdout).toContain('"hubApplied":true');

    // The ping goes on under the new key: 25 more answers after the switch (5 s).
    const answeredAtSwitch = pingLosses(ping.output()).answered;
    await vi.waitFor(
      () => expect(pingLosses(ping!.output()).answered).toBeGreaterThanOrEqual(answeredAtSwitch + 25),
      WAIT,
    );
    ping.child.kill("SIGINT");
    const { lost, answered } = pingLosses(ping.output());
    expect(answered).toBeGreaterThanOrEqual(30);
    expect(lost.length, `lost pings: ${lost.join(", ")}`).toBeLessThanOrEqual(1);

    const node = await getNode(before.nodeId);
    expect(node).toMatchObject({
      publicKey: after.publicKey,
      previousPublicKey: before.publicKey,
      keyRotationRequestedAt: null,
      hasServerKey: false,
    });
    // The hub holds both keys for now: the new one with the node's address, the old one with none.
    const peers = await hubPeers();
    expect(peers).toHaveLength(2);
    expect(peers.find((p) => p.publicKey === after.publicKey)?.allowedIps).toEqual([`${node.ip4}/32`]);
    expect(peers.find((p) => p.publicKey === before.publicKey)?.allowedIps).toEqual([]);

    // Once the hub has seen the new key shake hands (usage collection reads it), the next sync drops
    // the old key.
    await t.platform.services.peerSync.collectUsage(networkId);
    await t.platform.services.peerSync.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
    const shown = await lab.exec(hubNs, "wg", ["show", hubIface, "peers"]);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout.trim().split("\n")).toEqual([after.publicKey]);
    expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(true);

    // Neither key's private half left the node.
    const rows = JSON.stringify(await t.db.database.db.query.nodes.findMany());
    expect(rows).not.toContain(before.privateKey);
    expect(rows).not.toContain(after.privateKey);
    expect(t.logs.text).not.toContain(after.privateKey);
    expect(agent.stdout + agent.stderr).not.toContain(after.privateKey);
  });

  it("re-keys a node whose key the server holds: a one-time link serves the new config, which reaches the hub", async () => {
    const created = await createNode(t, networkId, { name: "server-held" });
    const nodeId = created.node.id as string;
    const oldPublicKey = created.node.publicKey as string;
    const res = await t.request(`/api/v1/nodes/${nodeId}/rekey`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await json(res)).data;
    expect(body.mode).toBe("server");
    expect(body.node.publicKey).not.toBe(oldPublicKey);
    expect(body.node.previousPublicKey).toBe(oldPublicKey);
    expect(JSON.stringify(body)).not.toMatch(/PrivateKey/);
    const url = new URL(body.configLink.url);
    const download = await t.app.request(`${url.pathname}${url.search}`);
    expect(download.status).toBe(200);
    const text = await download.text();
    expect(text).toContain("PrivateKey = ");
    // The link is used up.
    expect((await t.app.request(`${url.pathname}${url.search}`)).status).toBe(410);

    await vi.waitFor(async () => {
      const keys = (await hubPeers()).map((p) => p.publicKey);
      expect(keys).toContain(body.node.publicKey);
    }, WAIT);
    clientNs = await lab.namespace();
    await lab.veth(
      { netns: hubNs, address: "192.168.77.1/24" },
      { netns: clientNs, address: "192.168.77.2/24" },
    );
    wgQuick = await WgQuick.create();
    clientIface = lab.interfaceName(clientNs);
    await wgQuick.bringUp(clientNs, clientIface, text.replace("192.168.76.1:51846", "192.168.77.1:51846"));
    await vi.waitFor(async () => expect(await lab.ping(clientNs, HUB_TUNNEL_IP)).toBe(true), WAIT);
  });

  it("switches the hub's key at once (?now=true): the agent follows, and the server-held node's reissued config reaches the new hub", async () => {
    const hubKeyOf = async () => {
      const driver = openDriver(hubIface, { driver: "uapi" });
      try {
        return (await driver.dump()).publicKey;
      } finally {
        driver.close();
      }
    };
    const oldHubKey = await hubKeyOf();
    const res = await t.request(`/api/v1/networks/${networkId}/rotate-hub-key?now=true`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await json(res)).data.switched;
    expect(body.previousHubPublicKey).toBe(oldHubKey);
    expect(body.network.hubPublicKey).not.toBe(oldHubKey);
    expect(body.reissued).toHaveLength(1);
    expect(body.reissued[0].name).toBe("server-held");
    await vi.waitFor(async () => expect(await hubKeyOf()).toBe(body.network.hubPublicKey), WAIT);

    // The agent learns the new hub key from its config announcement and reaches the hub again.
    await vi.waitFor(async () => expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(true), WAIT);

    const url = new URL(body.reissued[0].configLink.url);
    const text = await (await t.app.request(`${url.pathname}${url.search}`)).text();
    expect(text).toContain(`PublicKey = ${body.network.hubPublicKey}`);
    await wgQuick!.bringDown(clientNs, clientIface);
    await wgQuick!.bringUp(clientNs, clientIface, text.replace("192.168.76.1:51846", "192.168.77.1:51846"));
    await vi.waitFor(async () => expect(await lab.ping(clientNs, HUB_TUNNEL_IP)).toBe(true), WAIT);
  });

  it("rotates by itself when the key reaches AGENT_ROTATE_KEY_DAYS, and keeps reaching the hub", async () => {
    agent!.child.kill("SIGTERM");
    expect(await agent!.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    const before = JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8"));
    agent = spawnEntry("apps/agent/main.ts", {
      WIRESYNC_URL: `http://127.0.0.1:${server.port}`,
      AGENT_STATE_DIR: stateDir,
      AGENT_INTERFACE: nodeIface,
      AGENT_NETNS: nodeNs,
      AGENT_HEARTBEAT_SECONDS: "5",
      AGENT_RELAY: "off",
      // About 9 seconds.
      AGENT_ROTATE_KEY_DAYS: "0.0001",
    });
    await agent.waitForOutput(/"reason":"the key reached its rotation age".*"msg":"key rotated"/, 60_000);
    const after = JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8"));
    expect(after.publicKey).not.toBe(before.publicKey);
    expect((await getNode(before.nodeId)).previousPublicKey).toBe(before.publicKey);
    await vi.waitFor(async () => expect(await lab.ping(nodeNs, HUB_TUNNEL_IP)).toBe(true), WAIT);
  });
});
