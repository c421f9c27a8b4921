import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseWgDump, WgDumpMemo } from "./dump.js";
import { runChecked } from "./exec.js";
import { assertWgKey } from "./keys.js";
import { isEmptyPlan } from "./plan.js";
import type { CheckedPlan, DeviceSettings, WgDriver, WgState } from "./types.js";
import { assertListenPort, normaliseFwmark } from "./validate.js";

export interface WgCliDriverOptions {
  /** Run `wg` inside this network namespace (`ip netns exec`); kernel interfaces live in one. */
  netns?: string | undefined;
  timeoutMs?: number;
  /**
   * Budget for one `wg set` command line (bytes of arguments plus pointers). Linux allows ~2 MiB in
   * all; a larger plan is split over several `wg set` runs. Default 1 MiB (≈ 8,000 peers).
   */
  maxArgBytes?: number;
}

const DEFAULT_MAX_ARG_BYTES = 1024 * 1024;
const POINTER_BYTES = 8;

/**
 * Drives an interface through the `wg` tool (kernel interfaces; works for userspace ones too): a dump
 * is `wg show <if> dump`, a plan is one `wg set` carrying every peer. Keys never go on a command line:
 * preshared keys travel in a private temporary directory (0700, files 0600) removed right after, the
 * private key on stdin.
 * Foot-gun: `wg set` has no `update_only`, so an update racing a removal recreates the peer with
 * only the updated fields; the next reconcile repairs it.
 */
export class WgCliDriver implements WgDriver {
  readonly kind = "wg" as const;
  readonly name: string;
  private readonly netns: string | undefined;
  private readonly timeoutMs: number | undefined;
  private readonly maxArgBytes: number;
  // Idle peers print the same dump line dump after dump; those are not parsed again.
  readonly #memo = new WgDumpMemo();

  constructor(name: string, options: WgCliDriverOptions = {}) {
    this.name = name;
    this.netns = options.netns;
    this.timeoutMs = options.timeoutMs;
    this.maxArgBytes = options.maxArgBytes ?? DEFAULT_MAX_ARG_BYTES;
  }

  /** Reads the interface with `wg show <if> dump`. Throws `WireGuardError` when `wg` fails. */
  async dump(): Promise<WgState> {
    const { stdout } = await runChecked("wg", ["show", this.name, "dump"], this.runOptions("show dump"));
    return parseWgDump(stdout, this.#memo);
  }

  /**
   * Applies the plan with one `wg set` (several only past `maxArgBytes`); returns how many ran.
   * Every value in it was checked when it was made (`CheckedPlan`), and each goes to `wg` as an
   * argument of its own. Throws `WireGuardError` when `wg` fails.
   */
  async apply(p: CheckedPlan): Promise<{ writes: number }> {
    if (isEmptyPlan(p)) return { writes: 0 };
    // `wg set … allowed-ips` always replaces; an append needs the current list.
    const appends = p.update.filter((u) => !u.replaceAllowedIps && u.allowedIps && u.allowedIps.length > 0);
    const current =
      appends.length > 0 ? new Map((await this.dump()).peers.map((x) => [x.publicKey, x])) : null;

    const psks = new Map<string, string>();
    const peerArgs: string[][] = [];
    for (const key of p.remove) peerArgs.push(["peer", key, "remove"]);
    for (const u of p.update) {
      const args = ["peer", u.publicKey];
      if (u.replaceAllowedIps) args.push("allowed-ips", (u.allowedIps ?? []).join(","));
      else if (u.allowedIps && u.allowedIps.length > 0) {
        const have = current?.get(u.publicKey)?.allowedIps ?? [];
        args.push("allowed-ips", [...new Set([...have, ...u.allowedIps])].join(","));
      }
      if (u.endpoint !== undefined) args.push("endpoint", u.endpoint);
      if (u.persistentKeepalive !== undefined)
        args.push("persistent-keepalive", String(u.persistentKeepalive));
      if (u.presharedKey !== undefined) args.push("preshared-key", pskRef(psks, u.presharedKey));
      peerArgs.push(args);
    }
    for (const a of p.add) {
      const args = ["peer", a.publicKey, "allowed-ips", a.allowedIps.join(",")];
      if (a.endpoint != null) args.push("endpoint", a.endpoint);
      if (a.persistentKeepalive !== undefined)
        args.push("persistent-keepalive", String(a.persistentKeepalive ?? 0));
      if (a.presharedKey !== undefined) args.push("preshared-key", pskRef(psks, a.presharedKey));
      peerArgs.push(args);
    }

    const dir = psks.size > 0 ? await mkdtemp(join(tmpdir(), "wiresync-psk-")) : null;
    try {
      if (dir) {
        for (const [psk, file] of psks)
          await writeFile(join(dir, file), `${psk}\n`, { mode: 0o600, flag: "wx" });
      }
      const chunks = this.chunk(peerArgs);
      for (const chunk of chunks) {
        const args = [
          "set",
          this.name,
          ...chunk.flat().map((a) => (a.startsWith(PSK_REF) ? join(dir!, a.slice(PSK_REF.length)) : a)),
        ];
        await runChecked("wg", args, this.runOptions("set"));
      }
      return { writes: chunks.length };
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }

  /** Sets interface-level settings with one `wg set`; the private key goes on stdin. */
  async setDevice(settings: DeviceSettings): Promise<void> {
    const args = ["set", this.name];
    let input: string | undefined;
    if (settings.privateKey !== undefined) {
      input = `${assertWgKey(settings.privateKey, "private key")}\n`;
      args.push("private-key", "/dev/stdin");
    }
    if (settings.listenPort !== undefined)
      args.push("listen-port", String(assertListenPort(settings.listenPort)));
    if (settings.fwmark !== undefined) args.push("fwmark", String(normaliseFwmark(settings.fwmark)));
    if (args.length === 2) return;
    await runChecked("wg", args, {
      ...this.runOptions("set device"),
      ...(input === undefined ? {} : { input }),
    });
  }

  close(): void {}

  private runOptions(operation: string) {
    return {
      netns: this.netns,
      iface: this.name,
      operation,
      ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }),
    };
  }

  private chunk(peerArgs: string[][]): string[][][] {
    const chunks: string[][][] = [];
    let current: string[][] = [];
    let bytes = 0;
    for (const args of peerArgs) {
      // PSK references grow into full paths; count them generously.
      const size = args.reduce(
        (n, a) => n + a.length + 1 + POINTER_BYTES + (a.startsWith(PSK_REF) ? 64 : 0),
        0,
      );
      if (current.length > 0 && bytes + size > this.maxArgBytes) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      current.push(args);
      bytes += size;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  }
}

/** Marks an argument to be replaced by the path of a preshared-key file. */
const PSK_REF = "\0psk:";

function pskRef(psks: Map<string, string>, psk: string | null): string {
  if (psk === null) return "/dev/null"; // an empty file removes the preshared key
  let file = psks.get(psk);
  if (!file) {
    file = `k${psks.size}`;
    psks.set(psk, file);
  }
  return `${PSK_REF}${file}`;
}
