/**
 * A real coturn (`turnserver`) for tests: on loopback, random ports, a temporary directory, the
 * REST-API shared secret (`use-auth-secret`), no TLS, no CLI, logging to stdout. Ready once it answers
 * a STUN Binding request; `stop()` ends only this process and removes its directory.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stunBinding } from "./turn-client.js";

export interface Coturn {
  readonly host: string;
  readonly port: number;
  readonly realm: string;
  /** Everything it logged so far. */
  output(): string;
  stop(): Promise<void>;
}

/** A UDP port nobody is bound to on loopback right now. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

const READY_TIMEOUT_MS = 15_000;

/** Starts coturn with `secret` as its static auth secret; resolves once it answers STUN. */
export async function startCoturn(secret: string): Promise<Coturn> {
  const dir = await mkdtemp(path.join(tmpdir(), "wiresync-coturn-"));
  const port = await freeUdpPort();
  // Relay ports for allocations: a random block, so parallel runs seldom meet.
  const minPort = randomInt(40_000, 60_000);
  const realm = "wiresync.test";
  const child: ChildProcess = spawn(
    "turnserver",
    [
      "-n",
      "--listening-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--relay-ip=127.0.0.1",
      `--min-port=${minPort}`,
      `--max-port=${minPort + 99}`,
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      `--realm=${realm}`,
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      "--log-file=stdout",
      "--simple-log",
      `--pidfile=${path.join(dir, "turnserver.pid")}`,
      `--db=${path.join(dir, "turndb")}`,
    ],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    // Not installed (ENOENT): say so, with the package to install.
    child.once("error", (err) => {
      output += `${err.message}: install coturn (apt-get install coturn; .ci/run does)\n`;
      exited = true;
      resolve();
    });
  });
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const killed = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exit;
      clearTimeout(killed);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await stunBinding("127.0.0.1", port, 200))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`coturn did not answer STUN on 127.0.0.1:${port}:\n${output}`);
    }
  }
  return { host: "127.0.0.1", port, realm, output: () => output, stop };
}
