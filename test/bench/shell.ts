/**
 * A shell of the bench's own that runs a baseline's commands (`wg syncconf`, `wg set`), one at a time,
 * as an operator's shell would run them.
 *
 * Why not `execFile` from the bench: Node (libuv) starts a child by forking the parent, and the
 * bench's process holds a 10,000-peer state. After a fork the parent's malloc'd memory (Buffers:
 * socket reads, the driver's memo of the last answer) is copy-on-write, so the next write to each of
 * its pages faults, even once the child has gone (V8's own heap showed no such faults). Here a fault
 * costs ~13 µs: touching 200 MB of Buffers after spawning `true` took 665 ms (51,200 faults) instead
 * of 1.6 ms. On the wireguard bench a peer sync after a baseline's `wg syncconf` made ~2,400 minor
 * faults instead of ~300 and took 75–85 ms instead of 45–55 (the same with `true` in place of `wg`).
 * A small shell forks cheaply and leaves the bench's pages alone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Single-quoted for sh: the argument reaches the command as it is, whatever it holds. */
const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

export class BenchShell {
  readonly #sh: ChildProcess;
  /** Each command's exit status comes back as one line, in order. */
  readonly #waiting: { resolve: () => void; reject: (err: Error) => void; what: string }[] = [];

  constructor() {
    // stdout carries only the exit statuses (commands' own output goes to /dev/null); stderr is the
    // bench's, so a failing command says why.
    this.#sh = spawn("sh", [], { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.#sh.stdout! }).on("line", (line) => {
      const next = this.#waiting.shift();
      if (!next) return;
      if (line === "0") next.resolve();
      else next.reject(new Error(`${next.what} exited with ${line}`));
    });
    this.#sh.once("exit", (code) => {
      for (const w of this.#waiting.splice(0))
        w.reject(new Error(`the bench's shell exited (${code}) before ${w.what} finished`));
    });
  }

  #exited(): boolean {
    return this.#sh.exitCode !== null || this.#sh.signalCode !== null;
  }

  /** Runs `command args…` in the shell; resolves once it exited with 0, rejects otherwise. */
  run(command: string, ...args: string[]): Promise<void> {
    const what = [command, ...args].join(" ").slice(0, 120);
    return new Promise((resolve, reject) => {
      if (this.#exited() || !this.#sh.stdin?.writable) {
        reject(new Error(`the bench's shell is closed: ${what} not run`));
        return;
      }
      this.#waiting.push({ resolve, reject, what });
      this.#sh.stdin.write(`${[command, ...args].map(quote).join(" ")} >/dev/null; echo $?\n`);
    });
  }

  /** Ends the shell once the commands sent have run. */
  close(): Promise<void> {
    if (this.#exited()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#sh.once("exit", () => resolve());
      this.#sh.stdin?.end();
    });
  }
}
