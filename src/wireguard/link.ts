/**
 * Reading and changing an interface's own settings with `ip`: MTU, addresses and the routes wiresync
 * installs through it (marked `proto static`, so routes an operator added are never taken away).
 */
import { run, runChecked } from "./exec.js";
import type { ActualLink, LinkPlan } from "./link-plan.js";
import { WireGuardError } from "./wireguard.errors.js";

/** The protocol wiresync's routes carry: how it tells its own routes from anyone else's. */
export const ROUTE_PROTO = "static";

const nsArgs = (netns: string | undefined) => (netns ? ["-n", netns] : []);

interface IpAddr {
  mtu?: number;
  addr_info?: { local?: string; prefixlen?: number; scope?: string }[];
}
interface IpRoute {
  dst?: string;
}

/** Reads `iface`'s MTU, global addresses and wiresync's routes. Throws `WireGuardError` when `ip` fails. */
export async function readLinkState(iface: string, netns: string | undefined): Promise<ActualLink> {
  const [addr, r4, r6] = await Promise.all([
    runChecked("ip", [...nsArgs(netns), "-j", "address", "show", "dev", iface], {
      iface,
      operation: "address show",
    }),
    run("ip", [...nsArgs(netns), "-j", "-4", "route", "show", "dev", iface, "proto", ROUTE_PROTO], {
      iface,
      operation: "route show",
    }),
    run("ip", [...nsArgs(netns), "-j", "-6", "route", "show", "dev", iface, "proto", ROUTE_PROTO], {
      iface,
      operation: "route show",
    }),
  ]);
  const link = (JSON.parse(addr.stdout) as IpAddr[])[0];
  if (!link?.mtu)
    throw new WireGuardError(`ip address show gave no link for ${iface}`, {
      iface,
      operation: "address show",
    });
  const addresses = (link.addr_info ?? [])
    .filter((a) => a.local && a.prefixlen !== undefined && a.scope !== "link")
    .map((a) => `${a.local}/${a.prefixlen}`);
  const routes: string[] = [];
  for (const [result, family] of [
    [r4, 4],
    [r6, 6],
  ] as const) {
    if (result.exitCode !== 0 || !result.stdout.trim()) continue;
    for (const r of JSON.parse(result.stdout) as IpRoute[]) {
      if (!r.dst || r.dst === "default") continue;
      routes.push(r.dst.includes("/") ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`);
    }
  }
  return { addresses, mtu: link.mtu, routes };
}

/** Applies a link plan in one `ip -batch` call. Idempotent. Throws `WireGuardError` when `ip` fails. */
export async function applyLinkPlan(iface: string, netns: string | undefined, plan: LinkPlan): Promise<void> {
  const lines: string[] = [];
  if (plan.setMtu !== null) lines.push(`link set dev ${iface} mtu ${plan.setMtu}`);
  for (const a of plan.addAddresses) lines.push(`address replace ${a} dev ${iface}`);
  for (const r of plan.addRoutes) lines.push(`route replace ${r} dev ${iface} proto ${ROUTE_PROTO}`);
  for (const r of plan.removeRoutes) lines.push(`route del ${r} dev ${iface} proto ${ROUTE_PROTO}`);
  if (lines.length === 0) return;
  await runChecked("ip", [...nsArgs(netns), "-batch", "-"], {
    iface,
    operation: "link settings",
    input: `${lines.join("\n")}\n`,
  });
}
