/**
 * Forwarding on hub interfaces: a hub network works only when the hub host forwards packets that
 * arrive on its interface for another peer of the same interface. This module turns that on for the
 * interfaces wiresync owns, as narrowly as Linux allows, keeps networks on one host apart with an
 * nftables table of its own (`table inet wiresync`), and reads back whether forwarding works.
 *
 * What Linux needs (measured on 6.18 in a namespace whose `ip_forward` is 0):
 * - IPv4: the input interface's `net.ipv4.conf.<iface>.forwarding=1` is enough; the global
 *   `net.ipv4.ip_forward` (= `conf.all.forwarding`) stays as it is.
 * - IPv6: `net.ipv6.conf.<iface>.forwarding=1` is not enough; kernels since 6.17 forward per
 *   interface with `net.ipv6.conf.<iface>.force_forwarding=1`. Older kernels forward IPv6 only when
 *   the namespace-wide `net.ipv6.conf.all.forwarding=1`, which wiresync then sets (and says so).
 *
 * Everything runs inside the interface's namespace (`ip netns exec`); it never touches another one.
 */
import type { RunOptions, RunResult } from "./exec.js";
import { run as runTool } from "./exec.js";

export type ForwardingMode = "on" | "off";

export interface ForwardingStatus {
  iface: string;
  /** Packets from one peer of the interface to another are forwarded over IPv4. */
  ipv4: boolean;
  /** The same over IPv6; null when the network has no IPv6 range. */
  ipv6: boolean | null;
  /** The wiresync nftables table keeps this interface's traffic off other wiresync interfaces. */
  isolated: boolean;
  /** What was changed on this call, for logs (e.g. `ipv4`, `ipv6`, `ipv6-global`, `nftables`). */
  changed: string[];
  /** Null when nodes reach each other; otherwise what is wrong and how to fix it, in one sentence. */
  problem: string | null;
}

export const NFT_TABLE = "wiresync";

/** Runs a tool, turning "cannot run it" (not installed) into a failed result: this module never throws. */
async function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  try {
    return await runTool(command, args, options);
  } catch (err) {
    return { stdout: "", stderr: (err as Error).message, exitCode: 127 };
  }
}

/** sysctl keys with `/` separators, so interface names with dots are read right. */
const key = (family: 4 | 6, iface: string, leaf: string) => `net/ipv${family}/conf/${iface}/${leaf}`;

async function readSysctl(netns: string | undefined, name: string, iface: string): Promise<string | null> {
  const result = await run("sysctl", ["-n", name], { netns, iface, operation: "sysctl read" });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

async function writeSysctl(
  netns: string | undefined,
  name: string,
  value: string,
  iface: string,
): Promise<string | null> {
  const result = await run("sysctl", ["-q", "-w", `${name}=${value}`], {
    netns,
    iface,
    operation: "sysctl write",
  });
  return result.exitCode === 0 ? null : result.stderr.trim().slice(0, 200) || `exit ${result.exitCode}`;
}

/** Whether IPv4 and IPv6 packets arriving on `iface` are forwarded now (reads only). */
export async function readForwarding(
  iface: string,
  netns: string | undefined,
): Promise<{ ipv4: boolean; ipv6: boolean }> {
  const [v4, v6all, v6force] = await Promise.all([
    readSysctl(netns, key(4, iface, "forwarding"), iface),
    readSysctl(netns, key(6, "all", "forwarding"), iface),
    readSysctl(netns, key(6, iface, "force_forwarding"), iface),
  ]);
  return { ipv4: v4 === "1", ipv6: v6all === "1" || v6force === "1" };
}

/**
 * The nftables ruleset of one namespace: forward between peers of one owned interface, never between
 * two owned interfaces (networks stay apart), and, where the namespace forwards nothing else (its
 * global switch is off), nothing from an owned interface to anywhere else either: turning forwarding
 * on for the hub interface must not open the host's other networks to nodes. Pure.
 */
export function buildForwardRuleset(
  owned: readonly string[],
  hostForwards: { ipv4: boolean; ipv6: boolean },
): string {
  const names = [...new Set(owned)].sort();
  const set = `{ ${names.map((n) => `"${n}"`).join(", ")} }`;
  const lines = [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    ...names.map((n) => `    iifname "${n}" oifname "${n}" accept`),
    `    iifname ${set} oifname ${set} drop`,
    ...(hostForwards.ipv4 ? [] : [`    meta nfproto ipv4 iifname ${set} drop`]),
    ...(hostForwards.ipv6 ? [] : [`    meta nfproto ipv6 iifname ${set} drop`]),
    "  }",
    "}",
  ];
  return `${lines.join("\n")}\n`;
}

export interface EnsureForwardingOptions {
  iface: string;
  netns: string | undefined;
  /** Every interface wiresync owns in the same namespace (this one included). */
  owned: readonly string[];
  /** Whether the network has an IPv6 range. */
  ipv6: boolean;
  mode: ForwardingMode;
  /** Only read what is in force (a drift check): change nothing. */
  readOnly?: boolean;
}

const fixHint = (iface: string, ipv6: boolean) =>
  `run \`sysctl -w net.ipv4.conf.${iface}.forwarding=1\`${ipv6 ? ` and \`sysctl -w net.ipv6.conf.${iface}.force_forwarding=1\` (or net.ipv6.conf.all.forwarding=1 before Linux 6.17)` : ""} on the hub host, or give the peer-sync worker CAP_NET_ADMIN and unset WG_FORWARDING=off`;

/**
 * Turns forwarding on for `iface` (mode `on`) and installs the isolation table; with mode `off` it
 * changes nothing (and removes wiresync's table). Either way it reads back what is in force and
 * returns a status whose `problem` says plainly when nodes cannot reach each other. Never throws for
 * a refused sysctl or a missing `nft`: that is the problem it reports.
 */
export async function ensureForwarding(options: EnsureForwardingOptions): Promise<ForwardingStatus> {
  const { iface, netns } = options;
  const changed: string[] = [];
  const failures: string[] = [];
  let isolated = false;
  if (options.readOnly) {
    const table = await run("nft", ["list", "table", "inet", NFT_TABLE], { netns, iface, operation: "nft" });
    isolated = table.exitCode === 0 && table.stdout.includes(`"${iface}"`);
  } else if (options.mode === "on") {
    const before = await readForwarding(iface, netns);
    if (!before.ipv4) {
      const err = await writeSysctl(netns, key(4, iface, "forwarding"), "1", iface);
      if (err) failures.push(`IPv4: ${err}`);
      else changed.push("ipv4");
    }
    if (options.ipv6 && !before.ipv6) {
      await writeSysctl(netns, key(6, iface, "forwarding"), "1", iface);
      const hasForce = (await readSysctl(netns, key(6, iface, "force_forwarding"), iface)) !== null;
      const err = hasForce
        ? await writeSysctl(netns, key(6, iface, "force_forwarding"), "1", iface)
        : // Foot-gun: before Linux 6.17 IPv6 forwards only namespace-wide.
          await writeSysctl(netns, key(6, "all", "forwarding"), "1", iface);
      if (err) failures.push(`IPv6: ${err}`);
      else changed.push(hasForce ? "ipv6" : "ipv6-global");
    }
    const hostForwards = {
      ipv4: (await readSysctl(netns, key(4, "all", "forwarding"), iface)) === "1",
      ipv6: (await readSysctl(netns, key(6, "all", "forwarding"), iface)) === "1",
    };
    const ruleset = buildForwardRuleset(options.owned, hostForwards);
    const had = await run("nft", ["list", "table", "inet", NFT_TABLE], { netns, iface, operation: "nft" });
    const nft = await run("nft", ["-f", "-"], { netns, iface, operation: "nft", input: ruleset });
    if (nft.exitCode === 0) {
      isolated = true;
      if (had.exitCode !== 0 || !had.stdout.includes(`"${iface}"`)) changed.push("nftables");
    } else failures.push(`nftables: ${nft.stderr.trim().slice(0, 200) || `exit ${nft.exitCode}`}`);
  } else {
    await run("nft", ["delete", "table", "inet", NFT_TABLE], { netns, iface, operation: "nft" });
  }
  const now = await readForwarding(iface, netns);
  const ipv6 = options.ipv6 ? now.ipv6 : null;
  const off = [...(now.ipv4 ? [] : ["IPv4"]), ...(ipv6 === false ? ["IPv6"] : [])];
  let problem: string | null = null;
  if (off.length > 0) {
    const why =
      options.mode === "off"
        ? "WG_FORWARDING=off and the host does not forward"
        : options.readOnly
          ? "forwarding is off on the hub host (wiresync turns it on at the next sync unless it lacks permission)"
          : `wiresync could not turn forwarding on (${failures.join("; ")})`;
    problem = `nodes of the hub interface ${iface} cannot reach each other over ${off.join(" and ")}: ${why}; ${fixHint(iface, options.ipv6)}`;
  } else if (options.mode === "on" && !isolated && !options.readOnly) {
    problem = `the hub interface ${iface} forwards, but networks on this host are not kept apart (${failures.join("; ")}); install nftables (\`nft\`) on the hub host`;
  }
  return { iface, ipv4: now.ipv4, ipv6, isolated, changed, problem };
}
