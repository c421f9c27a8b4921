import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { createRedis, pingRedis } from "./connection.js";

export interface RedisHandle {
  url: string;
  /** Set when wiresync started its own redis-server for this process. */
  child?: ChildProcess;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** True when a Redis at `url` answers PING. */
export async function redisAnswers(url: string): Promise<boolean> {
  const redis = createRedis(url, "producer", { retryStrategy: () => null, connectTimeout: 1_500 });
  try {
    await pingRedis(redis, 1_500);
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * Returns a Redis to use: the one at `url` when it answers; otherwise, when `redis-server` is on the
 * PATH, a private one under `dataDir/redis` (AOF on, noeviction, loopback only) that lives as long as
 * this process. Throws with the fix when neither is possible.
 */
export async function ensureRedis(url: string, dataDir: string): Promise<RedisHandle> {
  if (await redisAnswers(url)) return { url, stop: async () => {} };
  const which = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const binary = which.stdout.trim();
  if (which.status !== 0 || !binary) {
    throw new Error(
      `no Redis answers at ${safeUrl(url)} and redis-server is not installed. Start one with ` +
        "`docker compose up -d redis`, install redis-server (apt-get install redis-server), or set REDIS_URL.",
    );
  }
  const dir = path.join(dataDir, "redis");
  await mkdir(dir, { recursive: true });
  const pidFile = path.join(dir, "redis-server.pid");
  // IMPORTANT: a wiresync that was killed (SIGKILL, OOM) could not stop its redis-server, which still
  // owns this directory's AOF. End it before starting another on the same files.
  await stopStaleServer(pidFile);
  const port = await freePort();
  const child = spawn(
    binary,
    [
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
      "--protected-mode",
      "yes",
      "--pidfile",
      pidFile,
    ],
    { stdio: "ignore" },
  );
  const localUrl = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await redisAnswers(localUrl))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the private redis-server under ${dir} did not start; see its log or set REDIS_URL`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const exitWithUs = () => child.kill("SIGTERM");
  process.once("exit", exitWithUs);
  return {
    url: localUrl,
    child,
    async stop() {
      process.off("exit", exitWithUs);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Stops the redis-server named by `pidFile` if it still runs: SIGTERM, SIGKILL after
 * `STOP_TIMEOUT_MS`. Throws when it outlives both.
 */
async function stopStaleServer(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(pidFile, "utf8"), 10);
  } catch {
    return;
  }
  // The pid may have been reused since: only a running redis-server is ours to stop.
  if (!Number.isInteger(pid) || pid <= 1 || !isRunningRedis(pid)) return;
  process.kill(pid, "SIGTERM");
  const killAt = Date.now() + STOP_TIMEOUT_MS;
  let killed = false;
  while (isRunningRedis(pid)) {
    if (Date.now() > killAt + STOP_TIMEOUT_MS) {
      throw new Error(`could not stop the redis-server (pid ${pid}) left running by ${pidFile}`);
    }
    if (!killed && Date.now() > killAt) {
      process.kill(pid, "SIGKILL");
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when `pid` is a live (not zombie) redis-server process. */
function isRunningRedis(pid: number): boolean {
  const ps = spawnSync("ps", ["-p", String(pid), "-o", "stat=,comm="], { encoding: "utf8" });
  const [stat = "", comm = ""] = ps.stdout.trim().split(/\s+/);
  return ps.status === 0 && !stat.startsWith("Z") && comm.startsWith("redis-server");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The URL without its password, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "REDIS_URL";
  }
}
