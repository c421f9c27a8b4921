/**
 * Network namespaces for WireGuard e2e tests: namespaces joined by veth pairs, wireguard-go
 * interfaces inside them, commands run inside them, and cleanup of all of it (also when a test
 * fails, and on process exit as a last resort). Names are random (`wst` + 6 hex) because the UAPI
 * socket path of an interface ignores namespaces, and other test runs may share the host.
 *
 * Tests that need root, /dev/net/tun, `ip`, `wg` and `wireguard-go` (and any further tools they name)
 * use `describeNetns`: it skips them loudly where something is missing, except under CI=true, where
 * missing tools fail the run.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, it } from "vitest";
import { removeInterface, startWireguardGo, stopWireguardGo } from "../../src/wireguard/index.js";
import { IS_CI } from "./env.js";

const execFileAsync = promisify(execFile);

/** A random name: `prefix` + 6 hex characters (≤ 15 characters for interfaces). */
export function randomName(prefix = "wst"): string {
  return `${prefix}${randomBytes(3).toString("hex")}`;
}

let probed: { ok: boolean; reason: string } | undefined;

/** The tools of `tools` that are not on PATH. */
function missingTools(tools: readonly string[]): string[] {
  return tools.filter((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
}

const INSTALL_HINT = "(apt-get install wireguard-tools wireguard-go iproute2 iputils-ping)";

/** Whether this machine can run the e2e tests, and if not, why. Cached. */
export function netnsSupport(): { ok: boolean; reason: string } {
  if (probed) return probed;
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (run as uid 0)");
  if (!existsSync("/dev/net/tun")) missing.push("/dev/net/tun");
  const tools = missingTools(["ip", "wg", "wireguard-go", "ping"]);
  if (tools.length > 0) missing.push(`${tools.join(", ")} ${INSTALL_HINT}`);
  if (missing.length === 0) {
    const probe = randomName("wstp");
    try {
      execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
      execFileSync("ip", ["netns", "del", probe], { stdio: "pipe" });
    } catch (err) {
      missing.push(`ip netns add (${String((err as Error).message).split("\n")[0]})`);
    }
  }
  probed =
    missing.length === 0 ? { ok: true, reason: "" } : { ok: false, reason: `missing: ${missing.join(", ")}` };
  return probed;
}

/**
 * `describe` for tests that need real namespaces and wireguard-go, plus the `tools` they name (e.g.
 * `wg-quick`). Without them it skips with a loud warning, or, under CI=true, registers a failing test
 * naming what is missing.
 */
export function describeNetns(name: string, fn: () => void, options: { tools?: string[] } = {}): void {
  let support = netnsSupport();
  const extra = missingTools(options.tools ?? []);
  if (extra.length > 0) {
    const reason = `${support.ok ? "missing:" : `${support.reason},`} ${extra.join(", ")} ${INSTALL_HINT}`;
    support = { ok: false, reason };
  }
  if (support.ok) {
    describe(name, fn);
    return;
  }
  if (IS_CI) {
    describe(name, () => {
      it("has root, /dev/net/tun and the WireGuard tools (required in CI)", () => {
        throw new Error(`WireGuard e2e tests cannot run: ${support.reason}`);
      });
    });
    return;
  }
  console.warn(
    `\n${"!".repeat(78)}\n!! SKIPPING WireGuard e2e tests "${name}": ${support.reason}\n${"!".repeat(78)}\n`,
  );
  describe.skip(name, fn);
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Everything one test file creates, removed by `close()`. */
export class Lab {
  private readonly namespaces: string[] = [];
  private readonly interfaces: { name: string; netns: string | undefined }[] = [];
  private closed = false;

  constructor() {
    live.add(this);
  }

  /** A new namespace with loopback up. */
  async namespace(): Promise<string> {
    const name = randomName("wst-");
    await execFileAsync("ip", ["netns", "add", name]);
    this.namespaces.push(name);
    await execFileAsync("ip", ["-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  /**
   * A veth pair between two namespaces, addressed and up. Returns the two link names.
   * Addresses are CIDRs, e.g. `192.168.77.1/24`.
   */
  async veth(
    a: { netns: string; address: string },
    b: { netns: string; address: string },
  ): Promise<[string, string]> {
    const nameA = randomName("wsv");
    const nameB = randomName("wsv");
    await execFileAsync("ip", [
      "link",
      "add",
      nameA,
      "netns",
      a.netns,
      "type",
      "veth",
      "peer",
      "name",
      nameB,
      "netns",
      b.netns,
    ]);
    for (const [ns, link, address] of [
      [a.netns, nameA, a.address],
      [b.netns, nameB, b.address],
    ] as const) {
      await execFileAsync("ip", ["-n", ns, "address", "add", address, "dev", link]);
      await execFileAsync("ip", ["-n", ns, "link", "set", link, "up"]);
    }
    return [nameA, nameB];
  }

  /** A fresh interface name, removed (with its wireguard-go) by `close()` whoever creates it. */
  interfaceName(netns?: string): string {
    const name = randomName("wst");
    this.interfaces.push({ name, netns });
    return name;
  }

  /** Starts a bare wireguard-go interface (no key, no address) in `netns`; returns its name. */
  async wireguardGo(netns: string): Promise<string> {
    const name = this.interfaceName(netns);
    await startWireguardGo(name, netns);
    return name;
  }

  /**
   * Names that programs in `netns` resolve (through `/etc/netns/<netns>/hosts`, which `ip netns exec`
   * mounts over `/etc/hosts`), so endpoints with hostnames resolve without DNS. `close()` removes it.
   */
  async hosts(netns: string, entries: Record<string, string>): Promise<void> {
    if (!this.namespaces.includes(netns)) throw new Error(`${netns} is not a namespace of this lab`);
    const lines = Object.entries(entries).map(([host, ip]) => `${ip}\t${host}`);
    await mkdir(`/etc/netns/${netns}`, { recursive: true });
    await writeFile(`/etc/netns/${netns}/hosts`, `127.0.0.1\tlocalhost\n${lines.join("\n")}\n`);
  }

  /** Runs a command inside `netns`; resolves with its exit code rather than throwing. */
  async exec(netns: string, command: string, args: string[], input?: string): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = execFile("ip", ["netns", "exec", netns, command, ...args], (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ stdout, stderr, exitCode: code });
      });
      // EPIPE when the command exits without reading stdin: its exit code tells the story.
      child.stdin?.on("error", () => {});
      child.stdin?.end(input ?? "");
    });
  }

  /** True when one ping from `netns` to `address` is answered within a second. */
  async ping(netns: string, address: string): Promise<boolean> {
    return (await this.exec(netns, "ping", ["-c", "1", "-W", "1", address])).exitCode === 0;
  }

  /** Removes every interface and namespace this lab made and stops their wireguard-go daemons. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    for (const { name, netns } of this.interfaces) {
      await removeInterface(name, netns && this.namespaces.includes(netns) ? { netns } : {}).catch(() => {});
    }
    for (const ns of this.namespaces) {
      await execFileAsync("ip", ["netns", "del", ns]).catch(() => {});
      await rm(`/etc/netns/${ns}`, { recursive: true, force: true }).catch(() => {});
    }
    // Deleting a namespace destroys its tun devices, which ends their daemons; make sure.
    for (const { name } of this.interfaces) await stopWireguardGo(name).catch(() => {});
  }

  /** Last resort when the process exits without `close()`: synchronous, best effort. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ns of this.namespaces) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    const names = new Set(this.interfaces.map((i) => i.name));
    for (const pid of wireguardGoPidsSync(names)) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}

/** Pids of wireguard-go daemons serving any of `names` (by their exact command line). */
function wireguardGoPidsSync(names: ReadonlySet<string>): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      continue;
    }
    if (argv[0]?.endsWith("wireguard-go") && names.has(argv[argv.length - 1] ?? "")) pids.push(Number(entry));
  }
  return pids;
}

const live = new Set<Lab>();
process.once("exit", () => {
  for (const lab of live) lab.closeSync();
});

/**
 * Joins `netns` to the bridge `br0` in `bridgeNs` with `address`: a veth whose far end is a port of
 * the bridge. Both ends go when their namespaces do.
 */
export async function joinBridge(bridgeNs: string, netns: string, address: string): Promise<void> {
  const [inside, port] = [randomName("wsv"), randomName("wsv")];
  await execFileAsync("ip", [
    "link",
    "add",
    inside,
    "netns",
    netns,
    "type",
    "veth",
    "peer",
    "name",
    port,
    "netns",
    bridgeNs,
  ]);
  await execFileAsync("ip", ["-n", netns, "address", "add", address, "dev", inside]);
  await execFileAsync("ip", ["-n", netns, "link", "set", inside, "up"]);
  await execFileAsync("ip", ["-n", bridgeNs, "link", "set", port, "master", "br0", "up"]);
}

/** A new lab; pair it with `afterAll(() => lab.close())`. */
export function createLab(): Lab {
  return new Lab();
}

/** A hub host and a client host on one link. */
export interface HubAndClient {
  hubNs: string;
  hubIface: string;
  clientNs: string;
  clientIface: string;
}

/**
 * Two namespaces joined by a veth: the hub at `<subnet>.1/24` (e.g. "192.168.76"), the client at
 * `.2`. Interface names are chosen, not created.
 */
export async function hubAndClient(lab: Lab, subnet: string): Promise<HubAndClient> {
  const hubNs = await lab.namespace();
  const clientNs = await lab.namespace();
  await lab.veth({ netns: hubNs, address: `${subnet}.1/24` }, { netns: clientNs, address: `${subnet}.2/24` });
  return { hubNs, hubIface: lab.interfaceName(hubNs), clientNs, clientIface: lab.interfaceName(clientNs) };
}

/** A hub host and two client hosts, each client on a link of its own to the hub. */
export interface HubAndClients {
  hubNs: string;
  hubIface: string;
  ns: { c1: string; c2: string };
  iface: { c1: string; c2: string };
}

/**
 * Three namespaces: the hub at `<subnet>.1` of each client's /24 (`subnets[0]` for c1, `subnets[1]`
 * for c2, e.g. "192.168.111"), the client at `.2`; c2 routes everything else through the hub.
 * Interface names are chosen, not created.
 */
export async function hubAndClients(lab: Lab, subnets: readonly [string, string]): Promise<HubAndClients> {
  const hubNs = await lab.namespace();
  const ns = { c1: await lab.namespace(), c2: await lab.namespace() };
  await lab.veth(
    { netns: hubNs, address: `${subnets[0]}.1/24` },
    { netns: ns.c1, address: `${subnets[0]}.2/24` },
  );
  await lab.veth(
    { netns: hubNs, address: `${subnets[1]}.1/24` },
    { netns: ns.c2, address: `${subnets[1]}.2/24` },
  );
  await lab.exec(ns.c2, "ip", ["route", "add", "default", "via", `${subnets[1]}.1`]);
  return {
    hubNs,
    hubIface: lab.interfaceName(hubNs),
    ns,
    iface: { c1: lab.interfaceName(ns.c1), c2: lab.interfaceName(ns.c2) },
  };
}
