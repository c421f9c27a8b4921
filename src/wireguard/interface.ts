import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, unlink } from "node:fs/promises";
import { basename } from "node:path";
import { DomainError } from "../errors.js";
import { normaliseInterfaceAddress } from "./address.js";
import { inNetns, run, runChecked } from "./exec.js";
import { assertWgKey, publicKeyOf } from "./keys.js";
import { openDriver } from "./open-driver.js";
import type { DeviceSettings } from "./types.js";
import { UAPI_SOCKET_DIR, uapiSocketPath } from "./uapi-driver.js";
import { assertListenPort } from "./validate.js";
import { WireGuardError } from "./wireguard.errors.js";

/** Interface and namespace names: what Linux accepts, minus anything `ip` could read as an option. */
const IFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Throws VALIDATION_FAILED unless `name` is a usable interface name (≤ 15 characters). */
export function assertInterfaceName(name: string): string {
  if (typeof name !== "string" || !IFACE_NAME.test(name) || name === "." || name === "..") {
    throw new DomainError(
      "VALIDATION_FAILED",
      "interface name must be 1–15 of A-Z a-z 0-9 _ . - (not starting with - or .)",
      {
        context: { name: String(name).slice(0, 40) },
      },
    );
  }
  return name;
}

/** Throws VALIDATION_FAILED unless `name` is a usable network namespace name. */
export function assertNetnsName(name: string): string {
  if (typeof name !== "string" || !NETNS_NAME.test(name)) {
    throw new DomainError("VALIDATION_FAILED", "network namespace name must be 1–64 of A-Z a-z 0-9 _ . -", {
      context: { netns: String(name).slice(0, 80) },
    });
  }
  return name;
}

export interface EnsureInterfaceOptions {
  name: string;
  /** Base64. IMPORTANT: a secret; it is written over the UAPI socket or `wg`'s stdin only. */
  privateKey: string;
  listenPort: number;
  /** Interface addresses with their prefix, e.g. `10.0.0.1/24`, `fd00::1/64`. */
  addresses: string[];
  mtu?: number;
  netns?: string;
  /** `auto` (default): the kernel module when it loads, else wireguard-go. */
  implementation?: "auto" | "kernel" | "userspace";
  socketDir?: string;
}

export interface EnsuredInterface {
  name: string;
  netns: string | undefined;
  implementation: "kernel" | "userspace";
  /** True when this call created the interface. */
  created: boolean;
  publicKey: string;
  /** What this call changed, for logs: `created`, `privateKey`, `listenPort`. Addresses and MTU are always re-asserted. */
  changed: string[];
}

const USERSPACE_ENV = "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1";

interface LinkInfo {
  kind: string | undefined;
}

async function readLink(name: string, netns: string | undefined): Promise<LinkInfo | null> {
  const args = [...(netns ? ["-n", netns] : []), "-d", "-j", "link", "show", "dev", name];
  const result = await run("ip", args, { iface: name, operation: "link show" });
  if (result.exitCode !== 0) {
    if (/does not exist/i.test(result.stderr)) return null;
    throw new WireGuardError(`ip link show failed for ${name}: ${result.stderr.trim().slice(0, 300)}`, {
      iface: name,
      operation: "link show",
      exitCode: result.exitCode,
    });
  }
  const parsed = JSON.parse(result.stdout) as { linkinfo?: { info_kind?: string } }[];
  return { kind: parsed[0]?.linkinfo?.info_kind };
}

/**
 * Makes sure a WireGuard interface exists, configured and up: creates it if missing (`ip link add …
 * type wireguard`, or `wireguard-go <name>` where the kernel has no module), sets private key and
 * listen port only when they differ (so sessions survive a re-run), adds the addresses (`ip addr
 * replace`; addresses not listed are left alone), sets the MTU and brings it up. Idempotent.
 * Throws VALIDATION_FAILED for bad options, CONFLICT when the name is taken by a non-WireGuard link or
 * by an interface in another namespace, `WireGuardError` when a tool fails. Peers are untouched.
 */
export async function ensureInterface(options: EnsureInterfaceOptions): Promise<EnsuredInterface> {
  const name = assertInterfaceName(options.name);
  const netns = options.netns === undefined ? undefined : assertNetnsName(options.netns);
  const privateKey = assertWgKey(options.privateKey, "private key");
  const listenPort = assertListenPort(options.listenPort);
  const addresses = options.addresses.map(normaliseInterfaceAddress);
  if (
    options.mtu !== undefined &&
    (!Number.isInteger(options.mtu) || options.mtu < 576 || options.mtu > 65535)
  ) {
    throw new DomainError("VALIDATION_FAILED", "MTU must be an integer of 576–65535", {
      context: { mtu: options.mtu },
    });
  }
  const socketPath = uapiSocketPath(name, options.socketDir);
  const changed: string[] = [];

  let implementation: "kernel" | "userspace";
  let created = false;
  const link = await readLink(name, netns);
  if (link) {
    if (link.kind === "wireguard") implementation = "kernel";
    else if (link.kind === "tun" && existsSync(socketPath)) implementation = "userspace";
    else {
      throw new DomainError("CONFLICT", `interface ${name} exists and is not a WireGuard interface`, {
        context: { name, netns, kind: link.kind },
      });
    }
  } else {
    if (existsSync(socketPath) && (await findWireguardGo(name)).length > 0) {
      // Foot-gun: the socket path ignores namespaces, so a second interface of this name cannot work.
      throw new DomainError(
        "CONFLICT",
        `a userspace WireGuard interface named ${name} runs in another namespace`,
        {
          context: { name, netns },
        },
      );
    }
    implementation = await createInterface(name, netns, options.implementation ?? "auto", options.socketDir);
    created = true;
    changed.push("created");
  }

  const driver = openDriver(name, {
    driver: implementation === "userspace" ? "uapi" : "wg",
    netns,
    ...(options.socketDir === undefined ? {} : { socketDir: options.socketDir }),
  });
  try {
    const state = await driver.dump();
    const publicKey = publicKeyOf(privateKey);
    const settings: DeviceSettings = {};
    if (state.publicKey !== publicKey) {
      settings.privateKey = privateKey;
      changed.push("privateKey");
    }
    // Port 0 means "any": the interface has picked one, and re-setting 0 would rebind it each time.
    if (listenPort !== 0 && state.listenPort !== listenPort) {
      settings.listenPort = listenPort;
      changed.push("listenPort");
    }
    if (Object.keys(settings).length > 0) await driver.setDevice(settings);

    const batch = addresses.map((a) => `address replace ${a} dev ${name}`);
    batch.push(`link set dev ${name}${options.mtu === undefined ? "" : ` mtu ${options.mtu}`} up`);
    await runChecked("ip", [...(netns ? ["-n", netns] : []), "-batch", "-"], {
      iface: name,
      operation: "address and link setup",
      input: `${batch.join("\n")}\n`,
    });
    return { name, netns, implementation, created, publicKey, changed };
  } finally {
    driver.close();
  }
}

async function createInterface(
  name: string,
  netns: string | undefined,
  implementation: "auto" | "kernel" | "userspace",
  socketDir: string | undefined,
): Promise<"kernel" | "userspace"> {
  if (implementation !== "userspace") {
    const result = await run(
      "ip",
      [...(netns ? ["-n", netns] : []), "link", "add", "dev", name, "type", "wireguard"],
      {
        iface: name,
        operation: "link add",
      },
    );
    if (result.exitCode === 0) return "kernel";
    const noModule = /unknown device type|not supported|no such device/i.test(result.stderr);
    if (implementation === "kernel" || !noModule) {
      throw new WireGuardError(
        `ip link add ${name} type wireguard failed: ${result.stderr.trim().slice(0, 300)}`,
        {
          iface: name,
          operation: "link add",
          exitCode: result.exitCode,
        },
      );
    }
  }
  await startWireguardGo(name, netns);
  if (!existsSync(uapiSocketPath(name, socketDir))) {
    throw new WireGuardError(`wireguard-go started but no userspace API socket appeared for ${name}`, {
      iface: name,
      operation: "wireguard-go",
    });
  }
  return "userspace";
}

/**
 * Starts `wireguard-go <name>` (in `netns`). It daemonises: the command returns once the tun device
 * exists and the UAPI socket listens, and the daemon is found later by its command line
 * (`findWireguardGo`). The daemon runs in a session of its own and outlives this process: stopping
 * wiresync never takes a tunnel down. Throws `WireGuardError` when it exits non-zero.
 */
export async function startWireguardGo(name: string, netns?: string): Promise<void> {
  assertInterfaceName(name);
  // IMPORTANT: `env -u LOG_LEVEL`: with LOG_LEVEL set (ours is pino's), the daemon keeps our stdout
  // and stderr open, and waiting for the command would wait for the daemon to die.
  const argv = inNetns(netns, "env", ["-u", "LOG_LEVEL", USERSPACE_ENV, "wireguard-go", name]);
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    // IMPORTANT: `detached`: the daemon gets a session of its own. In ours it would share our process
    // group, so a Ctrl-C (SIGINT to the group) or a service manager stopping the group would stop it,
    // and the tunnel with it, whenever wiresync stops or restarts. Its stdio is /dev/null (see above).
    // No `unref`: this launcher exits as soon as the daemon it forks is up, and we wait for that.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], detached: true });
    const err: Buffer[] = [];
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) =>
      reject(
        new WireGuardError(
          "cannot run wireguard-go (is it installed?)",
          { iface: name, operation: "wireguard-go" },
          { cause: e },
        ),
      ),
    );
    child.on("exit", (c) => resolve({ code: c ?? 1, stderr: Buffer.concat(err).toString("utf8") }));
  });
  if (code !== 0) {
    throw new WireGuardError(`wireguard-go ${name} exited with ${code}: ${lastLines(stderr)}`, {
      iface: name,
      operation: "wireguard-go",
      exitCode: code,
    });
  }
}

function lastLines(text: string): string {
  // wireguard-go prints a boxed banner first; the error is at the end.
  return text.trim().split("\n").slice(-3).join(" ").slice(0, 300);
}

/** Process ids of running `wireguard-go` daemons serving interface `name` (any namespace). */
export async function findWireguardGo(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const argv = cmdline.split("\0").filter((a) => a.length > 0);
    if (argv.length >= 2 && basename(argv[0]!) === "wireguard-go" && argv[argv.length - 1] === name) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

const STOP_WAIT_MS = 3_000;

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let alive = pids;
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    const now = new Set(await findWireguardGoAmong(alive));
    alive = alive.filter((p) => now.has(p));
  }
  return alive;
}

async function findWireguardGoAmong(pids: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes("wireguard-go")) out.push(pid);
  }
  return out;
}

/**
 * Removes interface `name` (from `netns`) and stops its wireguard-go daemon if it has one: deleting
 * the link makes the daemon exit; one that lingers gets SIGTERM, then SIGKILL. Removes a stale UAPI
 * socket. Missing interfaces are fine (idempotent). Throws `WireGuardError` when `ip` fails otherwise.
 */
export async function removeInterface(
  name: string,
  options: { netns?: string; socketDir?: string } = {},
): Promise<void> {
  assertInterfaceName(name);
  const netns = options.netns === undefined ? undefined : assertNetnsName(options.netns);
  const result = await run("ip", [...(netns ? ["-n", netns] : []), "link", "del", "dev", name], {
    iface: name,
    operation: "link del",
  });
  if (result.exitCode !== 0 && !/cannot find device|does not exist|no such device/i.test(result.stderr)) {
    throw new WireGuardError(`ip link del ${name} failed: ${result.stderr.trim().slice(0, 300)}`, {
      iface: name,
      operation: "link del",
      exitCode: result.exitCode,
    });
  }
  await stopWireguardGo(name);
  const socket = uapiSocketPath(name, options.socketDir ?? UAPI_SOCKET_DIR);
  if (existsSync(socket) && (await findWireguardGo(name)).length === 0) await unlink(socket).catch(() => {});
}

/** Stops every wireguard-go daemon serving `name`: waits for it to go, then SIGTERM, then SIGKILL. */
export async function stopWireguardGo(name: string): Promise<void> {
  let alive = await waitGone(await findWireguardGo(name), 500);
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    if (alive.length === 0) return;
    for (const pid of alive) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    alive = await waitGone(alive, STOP_WAIT_MS);
  }
}
