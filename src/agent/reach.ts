/**
 * What an agent tells the control plane about reaching its node: endpoint candidates (the WireGuard
 * listen port and the host's addresses) and the latest handshake with each peer. Read from the node's
 * own namespace (or host) and interface; the server validates and filters them again.
 */
import { execFile } from "node:child_process";
import os from "node:os";
import { promisify } from "node:util";
import { openDriver } from "../wireguard/index.js";

const execFileAsync = promisify(execFile);

/** The server keeps at most this many addresses; more would be refused. */
const MAX_ADDRESSES = 32;
/** The server takes at most this many handshakes a heartbeat (`MAX_REPORTED_HANDSHAKES`). */
const MAX_HANDSHAKES = 4_096;

export interface HostAddress {
  iface: string;
  address: string;
  prefix: number;
  /** `global` for addresses others may reach; `host` (loopback) and `link` are no candidates. */
  scope: "global" | "link" | "host";
}

export interface ReachReport {
  candidates?: { listenPort: number; addresses: string[] };
  handshakes: { publicKey: string; ageSeconds: number }[];
}

const isLinkLocal = (ip: string) => /^169\.254\./.test(ip) || /^fe[89ab][0-9a-f]:/i.test(ip);

/**
 * The candidate addresses among a host's (`ip/prefix`): global scope only, none of the WireGuard
 * interface `wgIface` (its addresses are inside the tunnel), at most the server's limit. Pure.
 */
export function candidateAddresses(addresses: readonly HostAddress[], wgIface: string): string[] {
  const picked = addresses
    .filter((a) => a.scope === "global" && a.iface !== wgIface && !isLinkLocal(a.address))
    .map((a) => `${a.address}/${a.prefix}`);
  return [...new Set(picked)].slice(0, MAX_ADDRESSES);
}

interface IpJsonLink {
  ifname: string;
  addr_info?: {
    local?: string;
    prefixlen?: number;
    scope?: string;
    temporary?: boolean;
    deprecated?: boolean;
  }[];
}

/** The addresses of every interface in `netns` (`ip -j address show`), or of this host without one. */
export async function hostAddresses(netns: string | undefined): Promise<HostAddress[]> {
  if (!netns) {
    return Object.entries(os.networkInterfaces()).flatMap(([iface, list]) =>
      (list ?? []).map((a) => ({
        iface,
        address: a.address,
        prefix: Number(a.cidr?.split("/")[1] ?? (a.family === "IPv4" ? 32 : 128)),
        scope: a.internal
          ? ("host" as const)
          : isLinkLocal(a.address)
            ? ("link" as const)
            : ("global" as const),
      })),
    );
  }
  const { stdout } = await execFileAsync("ip", ["-n", netns, "-j", "address", "show"]);
  return (JSON.parse(stdout) as IpJsonLink[]).flatMap((link) =>
    (link.addr_info ?? [])
      // IPv6 privacy addresses rotate (and deprecated ones are on their way out): reporting them
      // would move every mesh config whenever one changes, for an address no peer should use.
      .filter((a) => typeof a.local === "string" && typeof a.prefixlen === "number")
      .filter((a) => !a.temporary && !a.deprecated)
      .map((a) => ({
        iface: link.ifname,
        address: a.local!,
        prefix: a.prefixlen!,
        scope:
          a.scope === "global"
            ? ("global" as const)
            : a.scope === "link"
              ? ("link" as const)
              : ("host" as const),
      })),
  );
}

/**
 * What the next heartbeat reports: the interface's listen port with the host's candidate addresses
 * (no candidates while the interface has no port yet), and the age in seconds of the latest handshake
 * with each peer that has shaken hands, by the node's own clock (`nowMs`), freshest first and at most
 * as many as the server takes.
 */
export async function readReach(
  target: { iface: string; netns?: string | undefined; driver: "auto" | "uapi" | "wg" },
  nowMs = Date.now(),
): Promise<ReachReport> {
  const driver = openDriver(target.iface, { driver: target.driver, netns: target.netns });
  let state: Awaited<ReturnType<typeof driver.dump>>;
  try {
    state = await driver.dump();
  } finally {
    driver.close();
  }
  const now = Math.floor(nowMs / 1000);
  // The freshest first, so a mesh larger than the limit still reports the pairs that are alive.
  const handshakes = state.peers
    .filter((p) => p.latestHandshake > 0)
    .map((p) => ({ publicKey: p.publicKey, ageSeconds: Math.max(0, now - p.latestHandshake) }))
    .sort((a, b) => a.ageSeconds - b.ageSeconds)
    .slice(0, MAX_HANDSHAKES);
  if (state.listenPort < 1) return { handshakes };
  const addresses = candidateAddresses(await hostAddresses(target.netns), target.iface);
  return { candidates: { listenPort: state.listenPort, addresses }, handshakes };
}
