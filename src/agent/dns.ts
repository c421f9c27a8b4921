/**
 * The network's DNS on a node, set the way the node's resolver takes it. In a network namespace
 * (`AGENT_NETNS`) that is `/etc/netns/<netns>/resolv.conf`, which `ip netns exec` mounts over
 * `/etc/resolv.conf` for every program started in that namespace; on a host it is `resolvconf` (as
 * wg-quick does) or, failing that, systemd-resolved's `resolvectl`. Where there is none, the caller
 * warns once: wiresync never overwrites a host's `/etc/resolv.conf` behind its resolver's back.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { parseIp } from "../wireguard/index.js";

export type DnsMethod = "netns" | "resolvconf" | "resolvectl" | "none";

export interface DnsResult {
  method: DnsMethod;
  /** True when this call changed the node's resolver. */
  changed: boolean;
}

const MARK = "# wiresync:";

/**
 * The resolv.conf text for `entries` (wg-quick's `DNS =`: addresses are name servers, anything else
 * a search domain). Pure.
 */
export function renderResolvConf(iface: string, entries: readonly string[]): string {
  const servers = entries.filter((e) => parseIp(e) !== null);
  const domains = entries.filter((e) => parseIp(e) === null);
  return [
    `${MARK} DNS of WireGuard interface ${iface}, set by the wiresync agent`,
    ...servers.map((s) => `nameserver ${s}`),
    ...(domains.length > 0 ? [`search ${domains.join(" ")}`] : []),
    "",
  ].join("\n");
}

function runTool(command: string, args: string[], input?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = execFile(command, args, (err) =>
      resolve(err ? (typeof err.code === "number" ? err.code : 127) : 0),
    );
    child.stdin?.on("error", () => {});
    child.stdin?.end(input ?? "");
  });
}

async function onPath(tool: string): Promise<boolean> {
  return (await runTool("sh", ["-c", `command -v ${tool}`])) === 0;
}

/**
 * Makes `entries` the DNS of the interface's node. Returns how, and whether anything changed; the
 * method is `none` when the host has no resolver wiresync can set. An empty list removes what
 * wiresync set before (and only that). Throws when a resolver tool refuses.
 */
export async function applyDns(
  entries: readonly string[],
  target: { iface: string; netns?: string | undefined },
): Promise<DnsResult> {
  if (target.netns) {
    const dir = `/etc/netns/${target.netns}`;
    const file = `${dir}/resolv.conf`;
    const current = await readFile(file, "utf8").catch(() => null);
    if (entries.length === 0) {
      if (current?.startsWith(MARK)) {
        await rm(file, { force: true });
        return { method: "netns", changed: true };
      }
      return { method: "netns", changed: false };
    }
    const text = renderResolvConf(target.iface, entries);
    if (current === text) return { method: "netns", changed: false };
    await mkdir(dir, { recursive: true });
    await writeFile(file, text, { mode: 0o644 });
    return { method: "netns", changed: true };
  }
  if (await onPath("resolvconf")) {
    const record = `tun.${target.iface}`;
    const code =
      entries.length === 0
        ? await runTool("resolvconf", ["-d", record, "-f"])
        : await runTool(
            "resolvconf",
            ["-a", record, "-m", "0", "-x"],
            renderResolvConf(target.iface, entries),
          );
    if (code !== 0) throw new Error(`resolvconf exited with ${code} setting the DNS of ${target.iface}`);
    return { method: "resolvconf", changed: true };
  }
  if (await onPath("resolvectl")) {
    const servers = entries.filter((e) => parseIp(e) !== null);
    const code =
      entries.length === 0
        ? await runTool("resolvectl", ["revert", target.iface])
        : await runTool("resolvectl", ["dns", target.iface, ...servers]);
    if (code !== 0) throw new Error(`resolvectl exited with ${code} setting the DNS of ${target.iface}`);
    return { method: "resolvectl", changed: true };
  }
  return { method: "none", changed: false };
}
