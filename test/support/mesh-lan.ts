/**
 * The mesh-on-a-LAN lab of the mesh e2e tests: a bridge in a namespace of its own, the hub's
 * namespace and one namespace per agent on one /24 through it, the API and the peer-sync and
 * config-push workers, a mesh network whose hub listens on the LAN, and a `wiresync-agent` per
 * agent namespace, enrolled with one reusable key and running.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { RunningServer } from "../../apps/api/server.js";
import { listen } from "../../apps/api/server.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { createEnrollmentKey, createNetwork } from "./mesh.js";
import type { Lab } from "./netns.js";
import { createLab, joinBridge } from "./netns.js";
import type { TestPlatform } from "./platform.js";
import { createTestPlatform } from "./platform.js";
import type { SpawnedProcess } from "./spawn.js";
import { spawnEntry } from "./spawn.js";
import { startTestWorkers } from "./workers.js";

const execFileAsync = promisify(execFile);

export interface MeshLanOptions<A extends string> {
  /** The LAN's first three octets, e.g. "192.168.93": the hub is `.1`, the agents `.11`, `.12`, … */
  lan: string;
  /** The hub's listen port, on its LAN address. */
  hubPort: number;
  /** The agents' names, in the order of their LAN addresses; each enrols as `agent-<name>`. */
  agents: readonly A[];
  /** The network's create body (topology mesh, endpoint and listen port are set here). */
  network: { name: string; cidr4: string } & Record<string, unknown>;
}

export interface MeshLan<A extends string> {
  lab: Lab;
  hubNs: string;
  hubIface: string;
  /** Each agent's namespace, interface name and LAN address (without the prefix length). */
  ns: Record<A, string>;
  iface: Record<A, string>;
  lanIp: Record<A, string>;
  t: TestPlatform;
  networkId: string;
  /** Puts `netns` on the LAN with `address` (with its /24). */
  joinLan(netns: string, address: string): Promise<void>;
  /** Stops the agents, workers, API and platform, and removes the namespaces and agent state. */
  close(): Promise<void>;
}

/** Starts the lab and waits until every agent runs; pair it with `afterAll(() => lan?.close())`. */
export async function startMeshLan<A extends string>(options: MeshLanOptions<A>): Promise<MeshLan<A>> {
  const lab = createLab();
  const agents: SpawnedProcess[] = [];
  let stateDir: string | undefined;
  let t: TestPlatform | undefined;
  let server: RunningServer | undefined;
  let workers: WorkerRuntime | undefined;
  const close = async () => {
    for (const a of agents) await a.stop(2_000);
    await workers?.close();
    await server?.close();
    await t?.close();
    await lab.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  };
  try {
    const bridgeNs = await lab.namespace();
    await execFileAsync("ip", ["-n", bridgeNs, "link", "add", "br0", "type", "bridge"]);
    await execFileAsync("ip", ["-n", bridgeNs, "link", "set", "br0", "up"]);
    const joinLan = (netns: string, address: string) => joinBridge(bridgeNs, netns, address);
    const hubNs = await lab.namespace();
    const hubLanIp = `${options.lan}.1`;
    await joinLan(hubNs, `${hubLanIp}/24`);
    const ns = {} as Record<A, string>;
    const iface = {} as Record<A, string>;
    const lanIp = {} as Record<A, string>;
    for (const [i, who] of options.agents.entries()) {
      ns[who] = await lab.namespace();
      lanIp[who] = `${options.lan}.${11 + i}`;
      await joinLan(ns[who], `${lanIp[who]}/24`);
      iface[who] = lab.interfaceName(ns[who]);
    }
    const hubIface = lab.interfaceName(hubNs);
    stateDir = await mkdtemp(path.join(tmpdir(), "wiresync-mesh-lan-"));
    t = await createTestPlatform({
      wireguard: {
        interfaces: [{ network: options.network.name, iface: hubIface, netns: hubNs }],
        driver: "auto",
      },
    });
    server = await listen(t.app, 0, "127.0.0.1");
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    const net = await createNetwork(t, {
      ...options.network,
      topology: "mesh",
      endpoint: `${hubLanIp}:${options.hubPort}`,
      listenPort: options.hubPort,
    });
    const enrollmentKey = await createEnrollmentKey(t, net.id, {
      reusable: true,
      maxUses: options.agents.length,
    });
    for (const who of options.agents) {
      // The agents run here and reach the API on loopback: the server sees 127.0.0.1, no reflexive
      // candidate; what they report from their namespaces decides.
      const agent = spawnEntry("apps/agent/main.ts", {
        WIRESYNC_URL: `http://127.0.0.1:${server.port}`,
        AGENT_ENROLLMENT_KEY: enrollmentKey,
        AGENT_STATE_DIR: path.join(stateDir, who),
        AGENT_INTERFACE: iface[who],
        AGENT_NETNS: ns[who],
        AGENT_NAME: `agent-${who}`,
        AGENT_HEARTBEAT_SECONDS: "5",
        LOG_LEVEL: "info",
      });
      agents.push(agent);
    }
    for (const agent of agents) await agent.waitForOutput(/"msg":"agent running"/, 90_000);
    return { lab, hubNs, hubIface, ns, iface, lanIp, t, networkId: net.id, joinLan, close };
  } catch (err) {
    await close();
    throw err;
  }
}
