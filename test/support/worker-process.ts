/**
 * Real worker processes for fault tests: `workers/main.ts`, bundled once with esbuild (tsx's own
 * dependency) together with its packages, as `npm run build:bundles` bundles the CLI and the agent, so
 * that each start costs about half a second of CPU instead of three under tsx, then started with the
 * environment of a test platform and killed at will.
 */
import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { childEnv, TEST_REDIS_URL } from "./env.js";
import type { SpawnedProcess } from "./spawn.js";
import { spawnEntry } from "./spawn.js";

const CACHE_DIR = path.resolve("node_modules/.cache/wiresync-test");

/**
 * Packages left out of the bundle and loaded from node_modules: those that read files beside their
 * own code (WebAssembly, native addons, static assets found through `__dirname`, which an ES module
 * bundle does not have) and optional native helpers.
 */
const EXTERNAL_PACKAGES = [
  "@electric-sql/pglite",
  "drizzle-orm/pglite",
  "drizzle-orm/pglite/migrator",
  "msgpackr-extract",
  "bufferutil",
  "utf-8-validate",
  "swagger-ui-dist",
  "redoc",
  "@bull-board/*",
  "pino-pretty",
  "thread-stream",
] as const;

/**
 * Bundled CommonJS packages call `require` for Node's built-in modules and the external packages;
 * an ES module has none, so the bundle makes one first (as apps/bundles/build.ts does).
 */
const REQUIRE_BANNER =
  'import { createRequire as __wiresyncCreateRequire } from "node:module"; const require = __wiresyncCreateRequire(import.meta.url);';

/**
 * Bundles `entry` (`workers/main.ts` unless given) with its packages (but `EXTERNAL_PACKAGES`) into
 * node_modules/.cache (found by `findMigrationsFolder` from there, and where the external packages
 * resolve); returns the bundle's path. Node then loads one file instead of resolving and compiling
 * the hundreds of files of BullMQ, ioredis, zod and the rest, which halves a start's CPU (measured
 * 0.5-0.7 s against 1.0-1.2 s per worker start, to "workers started").
 */
export function bundleWorkerEntry(entry = "workers/main.ts"): string {
  mkdirSync(CACHE_DIR, { recursive: true });
  const out = path.join(CACHE_DIR, `${path.basename(path.dirname(entry))}-${process.pid}.mjs`);
  const result = spawnSync(
    path.resolve("node_modules/.bin/esbuild"),
    [
      entry,
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--target=node20",
      ...EXTERNAL_PACKAGES.map((name) => `--external:${name}`),
      `--banner:js=${REQUIRE_BANNER}`,
      `--outfile=${out}`,
      "--log-level=warning",
    ],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`bundling ${entry} failed: ${result.stderr}`);
  return out;
}

/**
 * The CLI bundled as `npm run build:bundles` ships it, for tests that run it: node loads one file,
 * about 0.5 s of CPU per run up to its first query, against about 2 s under tsx (9 s while tsx's
 * cache is cold). The caller removes the file.
 */
export function bundleCli(): string {
  return bundleWorkerEntry("apps/cli/main.ts");
}

/** What a worker child needs to be a process of the test platform's installation. */
export interface InstallationOf {
  db: { url: string };
  prefix: string;
  adminKey: string;
  jwtSecret: string;
  encryptionKey: Buffer;
}

/**
 * The environment of a worker process of `t`'s installation (its database, Redis prefix and secrets,
 * JSON logs, private webhook receivers allowed), with `env` on top.
 */
export function workerChildEnv(
  t: InstallationOf,
  dataDir: string,
  env: Record<string, string>,
): Record<string, string> {
  return {
    NODE_ENV: "test",
    DATABASE_URL: t.db.url,
    DATABASE_POOL_SIZE: "4",
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: t.prefix,
    DATA_DIR: dataDir,
    API_KEY: t.adminKey,
    JWT_SECRET: t.jwtSecret,
    ENCRYPTION_KEY: t.encryptionKey.toString("hex"),
    WEBHOOK_ALLOW_PRIVATE: "true",
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    ...env,
  };
}

export interface WorkerChild {
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves when the child logged "workers started". */
  readonly ready: Promise<void>;
  isReady(): boolean;
  /** Every line the child wrote to stdout and stderr. */
  readonly output: string[];
  readonly exited: Promise<void>;
}

/**
 * Starts one worker process with `env` on top of the test environment. With `detached` it leads a
 * process group of its own, which a test can signal as a terminal's Ctrl-C would (`kill(-pid)`).
 */
export function startWorkerChild(
  entry: string,
  env: Record<string, string>,
  options: { detached?: boolean } = {},
): WorkerChild {
  const child = spawn(process.execPath, [entry], {
    env: childEnv({ ...env, NODE_OPTIONS: undefined, VITEST: undefined, VITEST_POOL_ID: undefined }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const output: string[] = [];
  let ready = false;
  let markReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      output.push(line);
      if (!ready && line.includes('"workers started"')) {
        ready = true;
        markReady();
      }
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { pid: child.pid!, process: child, ready: readyPromise, isReady: () => ready, output, exited };
}

/**
 * Starts a bundle made by `bundleWorkerEntry` as a `SpawnedProcess`: node alone runs it, with no tsx
 * to load (about a second of CPU per start instead of three).
 */
export function spawnBundle(
  entry: string,
  env: Record<string, string | undefined>,
  options: { netns?: string } = {},
): SpawnedProcess {
  return spawnEntry(entry, env, { ...options, tsx: false });
}

/** A hub host of a multi-host test: its `HUB_ID` and the interface it owns, in its namespace. */
export interface HubHost {
  id: string;
  ns: string;
  iface: string;
}

/**
 * Starts a hub host of `t`'s installation: a peer-sync worker process (bundled `entry`, no scheduler)
 * that declares `network` on `host.iface` in `host.ns` and leases it for `leaseSeconds`. The caller
 * stops it.
 */
export function startHubHost(
  t: InstallationOf,
  options: { entry: string; dataDir: string; host: HubHost; network: string; leaseSeconds: number },
): SpawnedProcess {
  const { host } = options;
  return spawnBundle(
    options.entry,
    workerChildEnv(t, options.dataDir, {
      WORKER_QUEUES: "peer-sync",
      WG_INTERFACES: `${options.network}=${host.iface}@${host.ns}`,
      HUB_ID: host.id,
      HUB_LEASE_SECONDS: String(options.leaseSeconds),
      SCHEDULER_ENABLED: "false",
    }),
  );
}
