/**
 * The agent as a node installs it: the single-file build copied to `/usr/local/bin/wiresync-agent` of
 * a folder outside the checkout, with no node_modules or package.json anywhere above it, run by plain
 * node. It enrolls with an enrollment key, configures its interface in a client namespace and pings
 * the hub through the tunnel.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { buildBundles } from "../../../apps/bundles/build.js";
import { openDriver } from "../../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork } from "../../support/mesh.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClient } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { SpawnedProcess } from "../../support/spawn.js";
import { spawnEntry } from "../../support/spawn.js";
import { startTestWorkers } from "../../support/workers.js";

const HUB_TUNNEL_IP = "10.126.0.1";
const WAIT = { timeout: 45_000, interval: 250 };

/** Every folder from `file`'s up to the root. */
function ancestors(file: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    out.push(dir);
    if (dir === path.dirname(dir)) return out;
  }
}

describeNetns("the installed agent (single-file build, outside the checkout)", () => {
  let lab: Lab;
  let hubNs: string;
  let clientNs: string;
  let hubIface: string;
  let clientIface: string;
  let t: TestPlatform;
  let server: RunningServer;
  let workers: WorkerRuntime;
  let scratch: string;
  let installed: string;
  let networkId: string;
  let agent: SpawnedProcess | undefined;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "wiresync-installed-agent-"));
    const built = await buildBundles(path.join(scratch, "build"));
    const bundle = built.find((b) => b.name === "wiresync-agent")!;
    // Installed as the README says: one file, made executable, under /usr/local/bin of a node.
    installed = path.join(scratch, "node", "usr", "local", "bin", "wiresync-agent");
    await mkdir(path.dirname(installed), { recursive: true });
    await copyFile(bundle.file, installed);
    await rm(path.join(scratch, "build"), { recursive: true, force: true });

    lab = createLab();
    ({ hubNs, hubIface, clientNs, clientIface } = await hubAndClient(lab, "192.168.76"));
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "installed", iface: hubIface, netns: hubNs }], driver: "auto" },
    });
    server = await listen(t.app, 0, "127.0.0.1");
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
    const net = await createNetwork(t, {
      name: "installed",
      cidr4: "10.126.0.0/24",
      endpoint: "192.168.76.1:51846",
      listenPort: 51846,
      persistentKeepalive: 1,
    });
    networkId = net.id;
  }, 120_000);

  afterAll(async () => {
    await agent?.stop(2_000);
    await workers?.close();
    await server?.close();
    await t?.close();
    await lab?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("runs from one file with nothing of the checkout around it", () => {
    expect(path.relative(process.cwd(), installed).startsWith("..")).toBe(true);
    for (const dir of ancestors(installed)) {
      expect(existsSync(path.join(dir, "node_modules")), dir).toBe(false);
      expect(existsSync(path.join(dir, "package.json")), dir).toBe(false);
    }
  });

  it("enrolls with an enrollment key, configures its interface and pings the hub through the tunnel", async () => {
    const enrollmentKey = await createEnrollmentKey(t, networkId);
    const stateDir = path.join(scratch, "node", "var", "lib", "wiresync-agent");
    agent = spawnEntry(
      installed,
      {
        WIRESYNC_URL: `http://127.0.0.1:${server.port}`,
        AGENT_ENROLLMENT_KEY: enrollmentKey,
        AGENT_STATE_DIR: stateDir,
        AGENT_INTERFACE: clientIface,
        AGENT_NETNS: clientNs,
        AGENT_NAME: "installed-a",
        AGENT_HEARTBEAT_SECONDS: "5",
        // Nothing may reach back into the checkout: no loader, no module path.
        NODE_OPTIONS: undefined,
        NODE_PATH: undefined,
      },
      { tsx: false, cwd: path.dirname(installed) },
    );
    await agent.waitForOutput(/"msg":"agent running"/, 60_000);

    const nodes = async () =>
      (await json(await t.request(`/api/v1/nodes?networkId=${networkId}`))).data.items as {
        name: string;
        publicKey: string;
        hasServerKey: boolean;
        status: string;
        agentVersion: string | null;
      }[];
    const [node] = await nodes();
    expect(await nodes()).toHaveLength(1);
    expect(node).toMatchObject({ name: "installed-a", hasServerKey: false });
    const { publicKey } = JSON.parse(await readFile(path.join(stateDir, "state.json"), "utf8"));
    expect(node!.publicKey).toBe(publicKey);

    // The hub has exactly this node as its peer, and the tunnel carries pings.
    await vi.waitFor(async () => {
      const driver = openDriver(hubIface, { driver: "uapi" });
      try {
        expect((await driver.dump()).peers.map((p) => p.publicKey)).toEqual([publicKey]);
      } finally {
        driver.close();
      }
    }, WAIT);
    await vi.waitFor(async () => expect(await lab.ping(clientNs, HUB_TUNNEL_IP)).toBe(true), WAIT);

    // Heartbeats: online, with the version compiled into the file.
    const { version } = JSON.parse(await readFile("package.json", "utf8"));
    await vi.waitFor(async () => {
      expect((await nodes())[0]).toMatchObject({ status: "online", agentVersion: version });
    }, WAIT);
  });

  it("stops on SIGTERM with exit 0", async () => {
    agent!.child.kill("SIGTERM");
    expect(await agent!.waitForExit(15_000)).toEqual({ code: 0, signal: null });
  });
});
