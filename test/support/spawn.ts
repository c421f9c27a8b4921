/**
 * Entry points as child processes (`node --import tsx <entry>`), the way an operator runs them: output
 * captured, waited on by polling, and always killed by `stop()` if a test leaves one running.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import net from "node:net";
import { vi } from "vitest";
import { childEnv } from "./env.js";

export interface SpawnedProcess {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Polls until stdout or stderr matches `pattern`; fails early, with the output, if the process exits. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Waits for the exit, failing after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Ends the process if it still runs: SIGTERM, so that it stops what it started (a private
   * redis-server), then SIGKILL after `graceMs`.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `entry` (a path from the repository root) with the test environment plus `env`; inside the
 * network namespace `netns` when given (`ip netns exec` execs node in place: the child is node itself).
 * With `tsx: false`, `entry` is plain JavaScript run by node alone (a built file), from `cwd`.
 */
export function spawnEntry(
  entry: string,
  env: Record<string, string | undefined>,
  options: { netns?: string; tsx?: boolean; cwd?: string } = {},
): SpawnedProcess {
  const command = [process.execPath, ...(options.tsx === false ? [] : ["--import", "tsx"]), entry];
  const [file, ...args] = options.netns ? ["ip", "netns", "exec", options.netns, ...command] : command;
  const child = spawn(file!, args, {
    cwd: options.cwd ?? process.cwd(),
    env: childEnv({ LOG_LEVEL: "info", LOG_FORMAT: "json", NODE_ENV: "test", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const describe = () => `exit=${JSON.stringify(exit)}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;

  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return vi.waitFor(
        () => {
          const match = stdout.match(pattern) ?? stderr.match(pattern);
          if (match) return match;
          if (exit) throw new Error(`exited before printing ${pattern}\n${describe()}`);
          throw new Error(`no ${pattern} yet\n${describe()}`);
        },
        { timeout: timeoutMs, interval: 50 },
      );
    },
    waitForExit(timeoutMs = 15_000) {
      return vi.waitFor(
        () => {
          if (!exit) throw new Error(`still running\n${describe()}`);
          return exit;
        },
        { timeout: timeoutMs, interval: 50 },
      );
    },
    async stop(graceMs = 10_000) {
      if (exit) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
