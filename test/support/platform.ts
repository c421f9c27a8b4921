/**
 * A real platform for integration tests: its own cloned database, its own Redis prefix, a captured
 * log, and the HTTP app built by the same `createApp` as production. `close()` removes all of it.
 */
import { randomBytes } from "node:crypto";
import type { App, HttpOptions } from "../../apps/api/app.js";
import { createPlatformApp } from "../../apps/api/app.js";
import type { NotifyConfig } from "../../src/config.js";
import type { DatabaseTimeouts } from "../../src/db/index.js";
import type { NodeConfigSource, Resolver } from "../../src/notify/index.js";
import type { InterfaceOps } from "../../src/peer-sync/index.js";
import type { Platform, PlatformOptions } from "../../src/platform.js";
import { DEFAULT_NOTIFY, openPlatform } from "../../src/platform.js";
import { generateBootstrapKey } from "../../src/secrets.js";
import type { TestDatabase } from "./db.js";
import { createTestDatabase } from "./db.js";
import { TEST_REDIS_URL } from "./env.js";
import type { LogCapture } from "./logs.js";
import { captureLogger } from "./logs.js";
import { deletePrefix, testPrefix } from "./redis.js";

export interface TestPlatform {
  db: TestDatabase;
  platform: Platform;
  app: App;
  adminKey: string;
  jwtSecret: string;
  encryptionKey: Buffer;
  prefix: string;
  logs: LogCapture;
  /** `app.request` with the admin key and JSON body handling. */
  request(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string>; key?: string | null },
  ): Promise<Response>;
  close(): Promise<void>;
}

export interface TestPlatformOptions {
  redisUrl?: string;
  /** The bootstrap `API_KEY` (any form an operator may configure); a generated `wsk_` key otherwise. */
  apiKey?: string;
  jwtTtlSeconds?: number;
  /** Overrides of `TEST_NOTIFY` (webhooks and email merge one level deep). */
  notify?: {
    relayIntervalMs?: number;
    sweepGraceMs?: number;
    webhooks?: Partial<NotifyConfig["webhooks"]>;
    email?: Partial<NotifyConfig["email"]>;
  };
  nodeConfigs?: NodeConfigSource;
  webhookResolver?: Resolver;
  /** Hub interfaces this platform's peer sync owns (`WG_INTERFACES`). */
  wireguard?: PlatformOptions["wireguard"];
  /** STUN/TURN servers handed to nodes (`TURN_URLS`, `TURN_SECRET`, `TURN_TTL_SECONDS`); none unless given. */
  turn?: PlatformOptions["turn"];
  /** Fake interfaces for service tests; real drivers otherwise. */
  interfaceOps?: InterfaceOps;
  /** The URL the platform reaches its test database at, from the database's own (e.g. through a proxy). */
  databaseUrl?: (url: string) => string;
  /** What entry points pass from `config.http` (TRUST_PROXY, CORS_ORIGINS, PUBLIC_URL). */
  http?: HttpOptions;
  /** Sign-in limits, over `DEFAULT_SIGN_IN_LIMITS`. */
  signInLimits?: PlatformOptions["auth"]["signInLimits"];
  /** Another platform's Redis prefix, to act as a second process of the same installation. */
  prefix?: string;
  /** Another platform's database, likewise (not dropped by this one's `close`). */
  database?: TestDatabase;
  /** Connections in the pool (10 unless given); 1 holds the platform to what the embedded database has. */
  poolSize?: number;
  /** Bounds on waiting for Postgres; production defaults unless given. */
  databaseTimeouts?: DatabaseTimeouts;
  /** `METRICS_PER_PEER` (off unless given). */
  metrics?: PlatformOptions["metrics"];
  /** `ENCRYPTION_KEY` and `ENCRYPTION_KEYS_PREVIOUS` (a random key and none unless given). */
  encryptionKeys?: { current: Buffer; previous?: Buffer[] };
  /** Run migrations and the start-up checks as an entry point does (skipped unless given). */
  migrate?: boolean;
  /** `HUB_ID` and `HUB_LEASE_SECONDS`: with `wireguard` interfaces, the platform is a hub host. */
  hubs?: PlatformOptions["hubs"];
  /** Event stream keepalive (and caller re-check) interval; the production default unless given. */
  streamKeepaliveMs?: number;
}

/** Notify settings for tests: local receivers allowed, short timeouts and backoffs, no email provider. */
export const TEST_NOTIFY: NotifyConfig = {
  relayIntervalMs: 200,
  sweepGraceMs: 0,
  webhooks: {
    ...DEFAULT_NOTIFY.webhooks,
    allowPrivate: true,
    timeoutMs: 3_000,
    maxAttempts: 5,
    backoffBaseMs: 50,
    backoffMaxMs: 400,
  },
  email: { ...DEFAULT_NOTIFY.email, timeoutMs: 3_000, maxAttempts: 5, backoffBaseMs: 50, backoffMaxMs: 400 },
};

/** `TEST_NOTIFY` with a test's overrides. */
export function testNotify(over: TestPlatformOptions["notify"] = {}): NotifyConfig {
  return {
    ...TEST_NOTIFY,
    ...(over.relayIntervalMs !== undefined ? { relayIntervalMs: over.relayIntervalMs } : {}),
    ...(over.sweepGraceMs !== undefined ? { sweepGraceMs: over.sweepGraceMs } : {}),
    webhooks: { ...TEST_NOTIFY.webhooks, ...over.webhooks },
    email: { ...TEST_NOTIFY.email, ...over.email },
  };
}

export async function createTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const db = options.database ?? (await createTestDatabase());
  const prefix = options.prefix ?? testPrefix();
  const adminKey = options.apiKey ?? generateBootstrapKey();
  const jwtSecret = randomBytes(32).toString("hex");
  const encryptionKey = options.encryptionKeys?.current ?? randomBytes(32);
  const { logger, logs } = captureLogger();
  const platform = await openPlatform({
    database: {
      kind: "postgres",
      url: options.databaseUrl?.(db.url) ?? db.url,
      poolSize: options.poolSize ?? 10,
      ...(options.databaseTimeouts ? { timeouts: options.databaseTimeouts } : {}),
    },
    redis: { url: options.redisUrl ?? TEST_REDIS_URL, prefix },
    secrets: {
      apiKey: adminKey,
      jwtSecret,
      encryptionKey,
      previousEncryptionKeys: options.encryptionKeys?.previous ?? [],
    },
    auth: {
      jwtTtlSeconds: options.jwtTtlSeconds ?? 3600,
      ...(options.signInLimits ? { signInLimits: options.signInLimits } : {}),
    },
    logger,
    migrate: options.migrate ?? false,
    notify: testNotify(options.notify),
    ...(options.nodeConfigs ? { nodeConfigs: options.nodeConfigs } : {}),
    ...(options.webhookResolver ? { webhookResolver: options.webhookResolver } : {}),
    ...(options.wireguard ? { wireguard: options.wireguard } : {}),
    ...(options.interfaceOps ? { interfaceOps: options.interfaceOps } : {}),
    ...(options.turn ? { turn: options.turn } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.hubs ? { hubs: options.hubs } : {}),
    ...(options.streamKeepaliveMs ? { realtime: { keepaliveMs: options.streamKeepaliveMs } } : {}),
  });
  const app = createPlatformApp(platform, 3600, options.http);
  return {
    db,
    platform,
    app,
    adminKey,
    jwtSecret,
    encryptionKey,
    prefix,
    logs,
    request(path, init = {}) {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      const key = init.key === undefined ? adminKey : init.key;
      if (key) headers["X-API-Key"] = key;
      let body: string | undefined;
      if (init.body !== undefined) {
        headers["Content-Type"] ??= "application/json";
        body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
      }
      return Promise.resolve(app.request(path, { method: init.method ?? "GET", headers, body }));
    },
    async close() {
      await platform.close();
      if (options.database) return;
      await db.drop();
      await deletePrefix(prefix, options.redisUrl ?? TEST_REDIS_URL).catch(() => {});
    },
  };
}
