/**
 * The real `wg-quick` (wireguard-tools) run the way a user runs it on a config downloaded from the
 * API: the text in `<dir>/<iface>.conf` (0600), then `ip netns exec <netns> wg-quick up|down <file>`.
 * Without the kernel module wg-quick starts wireguard-go, allowed by the variable wireguard-go asks for.
 *
 * A config with `DNS =` makes wg-quick call `resolvconf`. A stand-in script first on wg-quick's PATH
 * records each call (arguments and stdin) in the temp dir instead, so the DNS line is exercised while
 * the host's resolver (/etc/resolv.conf) stays untouched.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { childEnv } from "./env.js";

/** One call of the `resolvconf` stand-in: its arguments, and its stdin when it was asked to add (`-a`). */
export interface ResolvconfCall {
  args: string[];
  stdin: string;
}

/** Starts each call's record in the stand-in's log; the arguments follow on the same line. */
const CALL_MARK = "### resolvconf";

/** What `wg-quick up` brought up and `down` (or `close()`) takes down again. */
export class WgQuick {
  private readonly up = new Map<string, string>();
  private closed = false;

  private constructor(
    /** The temp dir: configs, the stand-in's `bin/`, its log. */
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * A temp dir with the `resolvconf` stand-in. Throws when a real `resolvconf` sits beside wg-quick:
   * wg-quick puts its own directory first on PATH, so that one, not the stand-in, would change the
   * host's resolver.
   */
  static async create(): Promise<WgQuick> {
    const wgQuick = execFileSync("sh", ["-c", "command -v wg-quick"], { encoding: "utf8" }).trim();
    const beside = path.join(path.dirname(realpathSync(wgQuick)), "resolvconf");
    if (existsSync(beside)) {
      throw new Error(`${beside} would be run by wg-quick instead of the test's stand-in; refusing to run`);
    }
    const dir = await mkdtemp(path.join(tmpdir(), "wiresync-wg-quick-"));
    const bin = path.join(dir, "bin");
    await mkdir(bin);
    const log = path.join(dir, "resolvconf.log");
    const script = [
      "#!/bin/sh",
      "# wiresync test stand-in for resolvconf(8): records the call and changes nothing.",
      `{ printf '${CALL_MARK}'; printf ' %s' "$@"; printf '\\n'`,
      `  case " $* " in *" -a "*) cat ;; esac; } >> '${log}'`,
      "",
    ].join("\n");
    await writeFile(path.join(bin, "resolvconf"), script, { mode: 0o755 });
    const base = childEnv({});
    const env = childEnv({
      PATH: `${bin}:${base.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
      WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1",
      // IMPORTANT: with LOG_LEVEL set (ours is pino's), wireguard-go keeps wg-quick's stdout and
      // stderr open, and waiting for wg-quick would wait for the daemon to die.
      LOG_LEVEL: undefined,
    });
    return new WgQuick(dir, env);
  }

  /** The config file of `iface`. */
  configPath(iface: string): string {
    return path.join(this.dir, `${iface}.conf`);
  }

  /**
   * Writes `config` to `<dir>/<iface>.conf` (0600) and runs `wg-quick up` on it in `netns`. Returns
   * wg-quick's stderr (its `[#]` command trace); throws with it when wg-quick fails.
   */
  async bringUp(netns: string, iface: string, config: string): Promise<string> {
    if (iface.length > 15) throw new Error(`interface name ${iface} is longer than 15 characters`);
    const file = this.configPath(iface);
    await writeFile(file, config, { mode: 0o600 });
    const stderr = await this.run(netns, ["up", file]);
    this.up.set(iface, netns);
    return stderr;
  }

  /** Runs `wg-quick down` on `iface`'s config file in `netns`; throws with wg-quick's stderr when it fails. */
  async bringDown(netns: string, iface: string): Promise<string> {
    const stderr = await this.run(netns, ["down", this.configPath(iface)]);
    this.up.delete(iface);
    return stderr;
  }

  /** Every call of the `resolvconf` stand-in so far, in order. */
  async resolvconfCalls(): Promise<ResolvconfCall[]> {
    const log = await readFile(path.join(this.dir, "resolvconf.log"), "utf8").catch(() => "");
    const calls: ResolvconfCall[] = [];
    for (const line of log.split("\n")) {
      if (line.startsWith(CALL_MARK)) {
        calls.push({ args: line.slice(CALL_MARK.length).trim().split(" "), stdin: "" });
      } else if (calls.length > 0 && line !== "") {
        calls[calls.length - 1]!.stdin += `${line}\n`;
      }
    }
    return calls;
  }

  /** `wg-quick down` for every interface still up (best effort), then removes the temp dir. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [iface, netns] of this.up) await this.bringDown(netns, iface).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }

  private run(netns: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        "ip",
        ["netns", "exec", netns, "wg-quick", ...args],
        { env: this.env },
        (err, _stdout, stderr) => {
          if (err)
            reject(new Error(`wg-quick ${args.join(" ")} in ${netns} failed: ${err.message}\n${stderr}`));
          else resolve(stderr);
        },
      );
      child.stdin?.on("error", () => {});
      child.stdin?.end();
    });
  }
}
