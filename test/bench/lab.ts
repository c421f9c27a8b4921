/**
 * The world a benchmark runs in: its own Postgres database and Redis prefix, network namespaces, and
 * a platform (API services + peer sync) whose hub interfaces are reached through a counting proxy of
 * the userspace API socket, so a row can state how many writes reached wireguard-go (`set=1`
 * requests the daemon received), not how many our code believes it made. Everything is removed by
 * `close()`, also after a failure.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import type { InterfaceBinding } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { realInterfaceOps } from "../../src/peer-sync/interface-ops.js";
import type { Platform } from "../../src/platform.js";
import { openPlatform } from "../../src/platform.js";
import { generateBootstrapKey } from "../../src/secrets.js";
import { openDriver, UAPI_SOCKET_DIR } from "../../src/wireguard/index.js";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../support/env.js";
import type { Lab } from "../support/netns.js";
import { createLab, netnsSupport } from "../support/netns.js";
import { deletePrefix } from "../support/redis.js";

/** Throws, naming what is missing, where WireGuard benchmarks cannot run (root, tun, tools). */
export function requireNetns(bench: string): void {
  const support = netnsSupport();
  if (!support.ok) throw new Error(`${bench} cannot run: ${support.reason}`);
}

/**
 * The peers a userspace-API `set=1` request adds or updates, as base64 keys: each `public_key=` block
 * that does not say `remove=true`. Pure.
 */
export function peersSet(request: string): string[] {
  const keys: string[] = [];
  let current: string | undefined;
  for (const line of request.split("\n")) {
    if (line.startsWith("public_key=")) {
      if (current !== undefined) keys.push(current);
      current = line.slice("public_key=".length);
    } else if (line === "remove=true") current = undefined;
  }
  if (current !== undefined) keys.push(current);
  return keys.map((hex) => Buffer.from(hex, "hex").toString("base64"));
}

/**
 * Serves `<dir>/<iface>.sock` for each interface, passing every byte both ways to wireguard-go's own
 * socket. It counts the `set=1` requests it forwards, and, on interfaces it tracks, notes when wireguard-go acknowledged
 * (`errno=0`) a set carrying each peer: from then on the peer is on the interface, which a row can
 * read without dumping the whole interface (a dump of 1,000 peers takes milliseconds and holds the
 * device's lock against the very write being timed). Requests go strictly one at a time (the driver
 * waits for each answer), so a request starts with the first bytes after an answer and ends with an
 * empty line.
 */
export class UapiCounter {
  readonly dir: string;
  #writes = new Map<string, number>();
  #times = new Map<string, number[]>();
  /** Per interface, when each peer was first acknowledged on it (performance.now() ms). */
  #applied = new Map<string, Map<string, number>>();
  #waiting = new Map<string, ((at: number) => void)[]>();
  /** Interfaces whose sets are read for the peers they carry (`trackPeers`). */
  #tracked = new Set<string>();
  #servers: Server[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async open(): Promise<UapiCounter> {
    return new UapiCounter(await mkdtemp(join(tmpdir(), "wiresync-bench-uapi-")));
  }

  /** `set=1` requests forwarded to `iface`'s daemon so far. */
  writes(iface: string): number {
    return this.#writes.get(iface) ?? 0;
  }

  /** When each of `iface`'s `set=1` requests was forwarded (performance.now() ms), in order. */
  writeTimes(iface: string): readonly number[] {
    return this.#times.get(iface) ?? [];
  }

  /**
   * From now on, reads each set to `iface` for the peers it carries, for `applied`. Off unless asked:
   * reading a set of 10,000 peers costs milliseconds, which would be counted as ours in a row timing
   * a peer sync.
   */
  trackPeers(iface: string): void {
    this.#tracked.add(iface);
  }

  /**
   * Resolves with the time (performance.now() ms) wireguard-go acknowledged a set carrying `publicKey`
   * on `iface` (tracked by `trackPeers` before the set): at once when it already has.
   */
  applied(iface: string, publicKey: string): Promise<number> {
    const at = this.#applied.get(iface)?.get(publicKey);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const id = `${iface} ${publicKey}`;
      this.#waiting.set(id, [...(this.#waiting.get(id) ?? []), resolve]);
    });
  }

  #acknowledged(iface: string, keys: readonly string[], at: number): void {
    const applied = this.#applied.get(iface)!;
    for (const key of keys) {
      if (applied.has(key)) continue;
      applied.set(key, at);
      const id = `${iface} ${key}`;
      for (const resolve of this.#waiting.get(id) ?? []) resolve(at);
      this.#waiting.delete(id);
    }
  }

  async serve(iface: string): Promise<void> {
    this.#writes.set(iface, 0);
    this.#times.set(iface, []);
    this.#applied.set(iface, new Map());
    const server = createServer((client) => {
      const daemon = createConnection(join(UAPI_SOCKET_DIR, `${iface}.sock`));
      // The request being sent: its first bytes, its last one, and, where peers are tracked, its
      // text; then a set's peers until its answer is in.
      let head = "";
      let last = 0;
      let parts: Buffer[] = [];
      let set: string[] | undefined;
      let answer = "";
      client.on("data", (chunk: Buffer) => {
        if (head.length < 6) {
          head += chunk.toString("latin1", 0, Math.min(chunk.length, 6 - head.length));
          if (head === "set=1\n") {
            this.#writes.set(iface, this.writes(iface) + 1);
            this.#times.get(iface)?.push(performance.now());
          }
        }
        if (this.#tracked.has(iface)) parts.push(chunk);
        const ended = chunk.at(-1) === 10 && (chunk.length > 1 ? chunk.at(-2) : last) === 10;
        last = chunk.at(-1) ?? last;
        if (!ended) return;
        set =
          head === "set=1\n" && parts.length > 0
            ? peersSet(Buffer.concat(parts).toString("latin1"))
            : undefined;
        head = "";
        parts = [];
      });
      daemon.on("data", (chunk: Buffer) => {
        if (set === undefined) return;
        answer += chunk.toString("latin1");
        if (!answer.endsWith("\n\n")) return;
        if (answer.startsWith("errno=0\n")) this.#acknowledged(iface, set, performance.now());
        set = undefined;
        answer = "";
      });
      client.pipe(daemon);
      daemon.pipe(client);
      daemon.on("error", () => client.destroy());
      client.on("error", () => daemon.destroy());
      daemon.on("close", () => client.destroy());
      client.on("close", () => daemon.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(join(this.dir, `${iface}.sock`), resolve);
    });
    this.#servers.push(server);
  }

  async close(): Promise<void> {
    await Promise.all(this.#servers.map((s) => new Promise((r) => s.close(r))));
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface BenchWorld {
  lab: Lab;
  platform: Platform;
  /** A plain client of the bench database (bulk inserts, baselines' statements). */
  sql: postgres.Sql;
  /** The bench database's URL. */
  dbUrl: string;
  adminKey: string;
  counter: UapiCounter;
  prefix: string;
  close(): Promise<void>;
}

/**
 * Opens a fresh database and Redis prefix and a platform owning `interfaces` (network name → interface
 * in a namespace), reached through the counting proxy. `minApplyIntervalMs` is the apply throttle
 * (the product's default, 250, unless a row says otherwise).
 */
export async function openWorld(options: {
  interfaces: (lab: Lab) => Promise<InterfaceBinding[]>;
  minApplyIntervalMs: number;
  poolSize?: number;
}): Promise<BenchWorld> {
  const lab = createLab();
  const dbName = `wiresync_bench_${randomBytes(4).toString("hex")}`;
  const prefix = `bench-${randomBytes(4).toString("hex")}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();
  const counter = await UapiCounter.open();
  let platform: Platform | undefined;
  let sql: postgres.Sql | undefined;
  const close = async () => {
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => platform?.close(),
      () => sql?.end(),
      () => counter.close(),
      () => lab.close(),
      () => admin.unsafe(`drop database if exists "${dbName}" with (force)`),
      () => admin.end(),
      () => deletePrefix(prefix),
    ];
    for (const step of steps) await Promise.resolve(step()).catch(() => {});
  };
  try {
    await admin.unsafe(`create database "${dbName}"`);
    const bindings = await options.interfaces(lab);
    for (const b of bindings) await counter.serve(b.iface);
    const adminKey = generateBootstrapKey();
    platform = await openPlatform({
      database: { kind: "postgres", url: dbUrl, poolSize: options.poolSize ?? 20 },
      redis: { url: TEST_REDIS_URL, prefix },
      secrets: {
        apiKey: adminKey,
        jwtSecret: randomBytes(32).toString("hex"),
        encryptionKey: randomBytes(32),
        previousEncryptionKeys: [],
      },
      auth: { jwtTtlSeconds: 3600 },
      logger: createLogger({ level: "silent", pretty: false }),
      wireguard: { interfaces: bindings, driver: "uapi", minApplyIntervalMs: options.minApplyIntervalMs },
      interfaceOps: {
        ...realInterfaceOps("uapi", { bindings }),
        open: (b) => openDriver(b.iface, { driver: "uapi", socketDir: counter.dir }),
      },
    });
    sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
    return { lab, platform, sql, dbUrl, adminKey, counter, prefix, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Inserts `count` nodes into a network in one statement, made by Postgres (no rows travel): public
 * keys are 32 bytes derived from `seed` (any 32 bytes are a valid X25519 public key), addresses
 * count up from `firstHost` (an address inside the network's CIDR, past the hub's).
 */
export async function insertNodes(
  sql: postgres.Sql,
  networkId: string,
  options: { count: number; seed: string; firstHost: string },
): Promise<void> {
  await sql`
    insert into nodes (network_id, name, public_key, ip4)
    select ${networkId}, ${options.seed} || '-' || i,
           encode(decode(md5(${options.seed} || i) || md5(${options.seed} || i || 'x'), 'hex'), 'base64'),
           host(${options.firstHost}::inet + i)::inet
    from generate_series(0, ${options.count - 1}::int) as i`;
}

/** Creates a hub network named `name` through the service, as the API does. Returns its id. */
export async function createNetwork(
  platform: Platform,
  input: { name: string; cidr4: string; listenPort: number; topology?: "hub" | "mesh" },
): Promise<string> {
  const view = await platform.services.networks.createNetwork(
    { ...input, topology: input.topology ?? "hub", dns: [] },
    {},
  );
  return view.id;
}
