import { spawn } from "node:child_process";
import { WireGuardError } from "./wireguard.errors.js";

/**
 * Runs the data-plane tools (`ip`, `wg`, `wireguard-go`) without a shell: arguments are passed as a
 * list, secrets only on stdin. Commands for a network namespace run through `ip netns exec`.
 */

export interface RunOptions {
  /** Run inside this network namespace (`ip netns exec <netns> …`). */
  netns?: string | undefined;
  /** Written to the child's stdin, then closed. IMPORTANT: the only way a secret may reach a tool. */
  input?: string;
  timeoutMs?: number;
  /** Names the interface and operation in errors. */
  iface: string;
  operation: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Blanks anything shaped like a key (base64 or hex) in tool output: `wg` echoes bad keys it reads. */
export function redactKeys(text: string): string {
  return text
    .replace(/[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=/g, "[KEY]")
    .replace(/\b[0-9a-fA-F]{64}\b/g, "[KEY]");
}

/** The argv that runs `command args` in `netns` (or directly when none). */
export function inNetns(netns: string | undefined, command: string, args: readonly string[]): string[] {
  return netns ? ["ip", "netns", "exec", netns, command, ...args] : [command, ...args];
}

/**
 * Runs a command and collects its output. Resolves with the exit code even when it is non-zero;
 * rejects with `WireGuardError` only when the command cannot be started or times out.
 */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const argv = inNetns(options.netns, command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(
        new WireGuardError(`${command} ${options.operation} timed out`, {
          iface: options.iface,
          operation: options.operation,
        }),
      );
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const finish = (error: Error | null, result?: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(result!);
    };
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) =>
      finish(
        new WireGuardError(
          `cannot run ${argv[0]} (is it installed and on PATH?)`,
          {
            iface: options.iface,
            operation: options.operation,
          },
          { cause: e },
        ),
      ),
    );
    child.on("close", (code, signal) =>
      finish(null, {
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        exitCode: code ?? (signal ? 128 : 1),
      }),
    );
    // EPIPE when the tool exits without reading stdin: its exit code tells the story.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** Like `run`, but throws `WireGuardError` (with the tool's redacted stderr) on a non-zero exit. */
export async function runChecked(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.exitCode !== 0) {
    const detail = redactKeys(result.stderr.trim() || result.stdout.trim()).slice(0, 500);
    throw new WireGuardError(`${command} ${options.operation} failed on ${options.iface}: ${detail}`, {
      iface: options.iface,
      operation: options.operation,
      exitCode: result.exitCode,
    });
  }
  return result;
}
