/**
 * The shared plumbing every entry point needs: database (migrated), Redis, queues, metrics and the
 * services built on them. Entry points (`apps/*\/main.ts`, `workers/main.ts`) call `openPlatform`
 * with their config slice and own the result's lifetime; nothing here reads the environment.
 */

import type { AuditService } from "./audit/index.js";
import { createAuditService } from "./audit/index.js";
import type { AuthService, NodeAuthService, SignInLimits } from "./auth/index.js";
import { createAuthService, createNodeAuthService, createSignInGuard } from "./auth/index.js";
import type { ResealService } from "./backup/index.js";
import { checkSealedKeys, createResealService } from "./backup/index.js";
import type { InterfaceBinding, NotifyConfig } from "./config.js";
import { DEFAULT_NOTIFY } from "./config.js";
import type { SecretBox } from "./crypto/index.js";
import { createSecretBox } from "./crypto/index.js";
import type { Database, DatabaseOptions } from "./db/index.js";
import { openDatabase } from "./db/index.js";
import type { HealthCheck, HealthService } from "./health/index.js";
import { createHealthService, HealthCheckError } from "./health/index.js";
import type { HubsReport, LeaseKeeper, NetworkHub, TaskDelegate } from "./hubs/index.js";
import { createLeaseKeeper, createRoutedQueue, createTaskDelegate, hubsReport } from "./hubs/index.js";
import type { Logger } from "./logger.js";
import type { ConfigFeed, ConfigNotifier, MeshServiceDeps, MeshServices } from "./mesh/index.js";
import { createMeshCore, createMeshServices, redisConfigFeed, redisConfigNotifier } from "./mesh/index.js";
import type { Metrics } from "./metrics/index.js";
import {
  createMetrics,
  registerConnectionGauge,
  registerNodeMetrics,
  registerQueueMetrics,
} from "./metrics/index.js";
import type { EmailService, NodeConfigSource, Relay, Resolver, WebhookService } from "./notify/index.js";
import { createEmailService, createRelay, createResendMailer, createWebhookService } from "./notify/index.js";
import type { DriftService, InterfaceOps, PeerSyncService } from "./peer-sync/index.js";
import {
  createDriftService,
  createPeerSyncService,
  realInterfaceOps,
  redisForwardingBoard,
} from "./peer-sync/index.js";
import type { Redis } from "./queue/index.js";
import { BullJobQueue, createRedis, pingRedis } from "./queue/index.js";
import type { QuotaService } from "./quota/index.js";
import { createQuotaService } from "./quota/index.js";
import type { EventHub, RealtimeService } from "./realtime/index.js";
import { createRealtimeService, redisStreamTokens, startEventHub } from "./realtime/index.js";
import type { RoutingService } from "./routing/index.js";
import { createRoutingService } from "./routing/index.js";
import type { SettingsService } from "./settings/index.js";
import { createSettingsService } from "./settings/index.js";
import type { StatsService } from "./stats/index.js";
import { createStatsService } from "./stats/index.js";
import type { SyncService } from "./sync/index.js";
import { createSyncService } from "./sync/index.js";
import type { TurnConfig, TurnService } from "./turn/index.js";
import { createTurnService } from "./turn/index.js";
import type { UsageService } from "./usage/index.js";
import { createUsageService } from "./usage/index.js";
import { SERVER_VERSION } from "./version.js";

export interface PlatformOptions {
  database: DatabaseOptions;
  redis: { url: string; prefix: string };
  secrets: {
    apiKey: string | undefined;
    jwtSecret: string;
    encryptionKey: Buffer;
    previousEncryptionKeys: readonly Buffer[];
  };
  /** Session lifetime; sign-in limits default to `DEFAULT_SIGN_IN_LIMITS` (tests may lower them). */
  auth: { jwtTtlSeconds: number; signInLimits?: Partial<SignInLimits> };
  logger: Logger;
  /** Webhooks, email and the outbox relay; defaults suit production (see `DEFAULT_NOTIFY`). */
  notify?: NotifyConfig;
  /** Node configs for node-config emails; the configs service's `configSource()` unless given. */
  nodeConfigs?: NodeConfigSource;
  /** DNS for the webhook SSRF guard (tests inject one); the system resolver otherwise. */
  webhookResolver?: Resolver;
  /** The hub interfaces this process owns (peer-sync workers); none for the API alone. */
  wireguard?: {
    interfaces: readonly InterfaceBinding[];
    driver: "auto" | "uapi" | "wg";
    minApplyIntervalMs?: number;
    /** Forwarding between the peers of owned hub interfaces (default `on`). */
    forwarding?: "on" | "off";
  };
  /** How peer sync reaches interfaces; real drivers unless a test hands in fakes. */
  interfaceOps?: InterfaceOps;
  /** STUN/TURN servers for nodes (`TURN_URLS`, `TURN_SECRET`); none unless given. */
  turn?: TurnConfig;
  /** Apply pending migrations before anything else (every entry point does; tests may skip). */
  migrate?: boolean;
  /** `METRICS_PER_PEER`: per-peer transfer counters on `/metrics` (off unless given). */
  metrics?: { perPeer: boolean };
  /** `RETENTION_DAYS`, which admin stats report (the scheduler prunes; default 90). */
  workers?: { retentionDays: number };
  /**
   * `HUB_ID` and `HUB_LEASE_SECONDS`. With owned interfaces, this process is a hub host: it applies
   * to a network's interface only while it holds the network's lease (see src/hubs). Without, it
   * applies to every interface it owns.
   */
  hubs?: { id: string; leaseSeconds: number };
  /** Live event streams: how often a stream sends a keepalive and checks its caller still stands. */
  realtime?: { keepaliveMs?: number };
}

export interface Platform {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly database: Database;
  /** Producer connection: fails fast while Redis is down. */
  readonly redis: Redis;
  readonly queue: BullJobQueue;
  readonly services: {
    auth: AuthService;
    sync: SyncService;
    health: HealthService;
    networks: MeshServices["networks"];
    nodes: MeshServices["nodes"];
    enrollment: MeshServices["enrollment"];
    enrollmentKeys: MeshServices["enrollmentKeys"];
    configs: MeshServices["configs"];
    configLinks: MeshServices["configLinks"];
    nodeAuth: NodeAuthService;
    liveness: MeshServices["liveness"];
    adopt: MeshServices["adopt"];
    rekey: MeshServices["rekey"];
    presharedKeys: MeshServices["presharedKeys"];
    audit: AuditService;
    usage: UsageService;
    settings: SettingsService;
    peerSync: PeerSyncService;
    drift: DriftService;
    webhooks: WebhookService;
    emails: EmailService;
    relay: Relay;
    routing: RoutingService;
    turn: TurnService;
    quota: QuotaService;
    stats: StatsService;
    realtime: RealtimeService;
    reseal: ResealService;
    /** Who serves each network, and which hub hosts are alive. */
    hubs: {
      report(): Promise<HubsReport>;
      /** Who serves one network (as in `report`); undefined for a network that does not exist. */
      networkHub(networkId: string): Promise<NetworkHub | undefined>;
    };
  };
  /**
   * This process as a hub host: its id, its lease keeper (when it owns interfaces and `hubs` was
   * given; the worker role starts it), and the delegate that sends sync-run tasks to other holders.
   */
  readonly hub: { id: string | undefined; keeper: LeaseKeeper | undefined; delegate: TaskDelegate };
  readonly secrets: SecretBox;
  /** Announces new config versions to node agents (config-push jobs). */
  readonly configNotifier: ConfigNotifier;
  /** Announcements for the agent streams this process serves (opens a subscriber on first use). */
  configFeed(): ConfigFeed;
  /** The notify settings in force (the scheduler reads the relay interval). */
  readonly notify: NotifyConfig;
  readonly redisPrefix: string;
  /** Opens a connection for workers (blocking commands, retries forever). The platform closes it. */
  workerConnection(): Redis;
  /** Adds a readiness check (workers add theirs). */
  addHealthCheck(name: string, check: HealthCheck): void;
  close(): Promise<void>;
}

/** `HUB_LEASE_SECONDS` when an entry point passes none (the config schema's default). */
const DEFAULT_LEASE_SECONDS = 15;
/** `RETENTION_DAYS` when an entry point passes none (the config schema's default). */
const DEFAULT_RETENTION_DAYS = 90;
/** How often the event hub looks for new events when no notice came (a lost one costs at most this). */
const EVENT_POLL_INTERVAL_MS = 1_000;
/** Lifetime of a stream token: long enough to open (and re-open) a stream, short enough to leak little. */
export const STREAM_TOKEN_TTL_SECONDS = 120;
/**
 * How often an event stream sends a keepalive and checks its caller (a disabled user, a revoked key)
 * when an entry point passes none: under the idle timeout of common proxies.
 */
export const STREAM_KEEPALIVE_MS = 25_000;

/** Notify settings when an entry point passes none: the config schema's defaults. */
export { DEFAULT_NOTIFY };

/** Opens the database (migrating it), Redis and the queues, and builds the services. */
export async function openPlatform(options: PlatformOptions): Promise<Platform> {
  const database = await openDatabase(options.database);
  try {
    if (options.migrate ?? true) await database.migrate();
  } catch (err) {
    await database.close();
    throw new Error(`migrating the database: ${(err as Error).message}`, { cause: err });
  }
  const secrets = createSecretBox(options.secrets.encryptionKey, options.secrets.previousEncryptionKeys);
  if (options.migrate ?? true) {
    // A key removed too early fails here, naming the key id, rather than at the first secret read.
    try {
      await checkSealedKeys(database.db, secrets);
    } catch (err) {
      await database.close();
      throw err;
    }
  }
  const redis = createRedis(options.redis.url, "producer");
  const extraConnections: Redis[] = [];
  const openWorkerConnection = () => {
    const connection = createRedis(options.redis.url, "worker");
    extraConnections.push(connection);
    return connection;
  };
  const queue = new BullJobQueue(redis, options.redis.prefix, openWorkerConnection);
  const forwardingBoard = redisForwardingBoard(redis, options.redis.prefix);
  const checks: Record<string, HealthCheck> = {
    postgres: () => database.ping(),
    redis: () => pingRedis(redis),
    // A hub that does not forward between its peers leaves every node cut off from the others.
    "hub-forwarding": async () => {
      // Without Redis there is nothing to read; the redis check reports that.
      if (redis.status !== "ready") return;
      const problems = await forwardingBoard.problems().catch(() => []);
      // Our own words (what is wrong and what to run), so readiness may show them.
      if (problems.length > 0) throw new HealthCheckError(problems.join("; "));
    },
  };
  const metrics = createMetrics();
  const notify = options.notify ?? DEFAULT_NOTIFY;
  const { email } = notify;
  // Built first: the email service reads node configs from them.
  // The quota service disables and restores nodes through a mesh core of its own (stateless).
  // Network jobs go to the queue of the hub host that holds the network's lease.
  const routed = createRoutedQueue(queue, database.db);
  const leaseSeconds = options.hubs?.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const meshDeps: MeshServiceDeps = {
    db: database.db,
    queue: routed,
    secrets,
    reportDispatchError: (err, what) =>
      options.logger.warn({ err, ...what }, "trigger not queued; the scheduled reconcile will catch up"),
  };
  const mesh = createMeshServices(meshDeps);
  registerConnectionGauge(metrics.registry, mesh.liveness);
  const sync = createSyncService({ db: database.db, queue: routed });
  const bindings = options.wireguard?.interfaces ?? [];
  let keeper: LeaseKeeper | undefined;
  const usage = createUsageService(database.db);
  const nodeConfigs: NodeConfigSource = options.nodeConfigs ?? mesh.configs.configSource();
  // The live event stream's hub starts with the first stream this process serves (never in workers).
  let hub: Promise<EventHub> | undefined;
  const eventHub = () => {
    hub ??= startEventHub({
      db: database.db,
      publisher: redis,
      subscriber: openWorkerConnection(),
      prefix: options.redis.prefix,
      listen: (channel, onNotify) => database.listen(channel, onNotify),
      pollIntervalMs: EVENT_POLL_INTERVAL_MS,
      logger: options.logger,
    });
    // A hub that failed to start is tried again by the next stream.
    hub.catch(() => {
      hub = undefined;
    });
    return hub;
  };
  const services = {
    auth: createAuthService({
      db: database.db,
      jwtSecret: options.secrets.jwtSecret,
      jwtTtlSeconds: options.auth.jwtTtlSeconds,
      bootstrapApiKey: options.secrets.apiKey,
      signIns: createSignInGuard({
        redis,
        prefix: options.redis.prefix,
        ...(options.auth.signInLimits ? { limits: options.auth.signInLimits } : {}),
      }),
    }),
    sync,
    health: createHealthService(checks, undefined, (check, err) =>
      options.logger.warn({ err, check }, "readiness check failed"),
    ),
    ...mesh,
    nodeAuth: createNodeAuthService(database.db),
    audit: createAuditService(database.db),
    usage,
    peerSync: createPeerSyncService({
      db: database.db,
      networks: mesh.networks,
      nodes: mesh.nodes,
      configs: mesh.configs,
      liveness: mesh.liveness,
      usage,
      bindings: options.wireguard?.interfaces ?? [],
      ops:
        options.interfaceOps ??
        realInterfaceOps(options.wireguard?.driver ?? "auto", {
          forwarding: options.wireguard?.forwarding ?? "on",
          bindings: options.wireguard?.interfaces ?? [],
        }),
      metrics,
      minApplyIntervalMs: options.wireguard?.minApplyIntervalMs ?? 0,
      forwardingBoard,
      ...(options.hubs && bindings.length > 0
        ? { fence: { holds: (networkId: string) => keeper?.holds(networkId) ?? false } }
        : {}),
    }),
    drift: createDriftService({ queue: routed, sync, networks: mesh.networks }),
    routing: createRoutingService({ db: database.db }),
    turn: createTurnService({ db: database.db, config: options.turn }),
    settings: createSettingsService({ db: database.db, secrets }),
    webhooks: createWebhookService({
      db: database.db,
      queue,
      box: secrets,
      policy: notify.webhooks,
      ...(options.webhookResolver ? { resolver: options.webhookResolver } : {}),
    }),
    emails: createEmailService({
      db: database.db,
      queue,
      mailer: email.resendApiKey
        ? createResendMailer({
            apiKey: email.resendApiKey,
            baseUrl: email.resendBaseUrl,
            timeoutMs: email.timeoutMs,
          })
        : undefined,
      nodeConfigs,
      policy: email,
      logger: options.logger,
    }),
    realtime: createRealtimeService({
      db: database.db,
      hub: eventHub,
      tokens: redisStreamTokens(redis, options.redis.prefix, STREAM_TOKEN_TTL_SECONDS),
      version: SERVER_VERSION,
      keepaliveMs: options.realtime?.keepaliveMs ?? STREAM_KEEPALIVE_MS,
    }),
    relay: createRelay({
      db: database.db,
      queue,
      options: { batchSize: 200, sweepGraceMs: notify.sweepGraceMs, alertRecipients: email.alertRecipients },
    }),
    quota: createQuotaService(createMeshCore(meshDeps)),
    reseal: createResealService({ db: database.db, secrets, queue }),
    stats: createStatsService({
      db: database.db,
      queues: queue.queues,
      hubQueue: (hubId) => queue.hubQueue(hubId),
      redis,
      retentionDays: options.workers?.retentionDays ?? DEFAULT_RETENTION_DAYS,
    }),
    hubs: {
      report: () => hubsReport(database.db, leaseSeconds),
      networkHub: async (networkId: string) =>
        (await hubsReport(database.db, leaseSeconds)).networks.find((n) => n.networkId === networkId),
    },
  };
  if (options.hubs && bindings.length > 0) {
    const log = options.logger.child({ component: "peer-sync" });
    keeper = createLeaseKeeper({
      db: database.db,
      hubId: options.hubs.id,
      refs: bindings.map((b) => b.network),
      ttlSeconds: leaseSeconds,
      version: SERVER_VERSION,
      logger: options.logger,
      actions: {
        async serve(network, epoch) {
          try {
            const outcome = await services.peerSync.syncNetwork(network.id, {
              removeUnknown: false,
              reportDrift: false,
              checkSettings: true,
            });
            const binding = bindings.find((b) => b.network === network.ref);
            log.info(
              {
                iface: binding?.iface,
                netns: binding?.netns,
                network: network.ref,
                epoch,
                peers: outcome.peers,
                changed: outcome.changed,
              },
              "hub interface reconciled",
            );
            if (outcome.forwarding?.problem)
              log.warn(
                { network: network.ref, problem: outcome.forwarding.problem },
                "nodes cannot reach each other",
              );
          } catch (err) {
            log.error(
              { network: network.name, err },
              "bringing up a network after acquiring its lease failed",
            );
          }
        },
        async clear(network, why) {
          try {
            const removed = await services.peerSync.clearPeers(network, { prepare: why === "standby" });
            log.info({ network: network.name, why, removed }, "network interface cleared");
          } catch (err) {
            log.error({ network: network.name, why, err }, "clearing a network's interface failed");
          }
        },
      },
    });
  }
  // Read on scrape only: a process nobody scrapes (a worker) never runs these queries.
  const onCollectError = (metric: string) => metrics.collectErrors.inc({ metric });
  registerNodeMetrics(metrics.registry, services.stats.fleetSource(), {
    perPeer: options.metrics?.perPeer ?? false,
    onError: onCollectError,
  });
  registerQueueMetrics(metrics.registry, services.stats.queueSource(), onCollectError);

  let feed: ConfigFeed | undefined;
  return {
    hub: {
      id: options.hubs?.id,
      keeper,
      delegate: createTaskDelegate({ db: database.db, queue: routed, hubId: options.hubs?.id }),
    },
    logger: options.logger,
    configNotifier: redisConfigNotifier(redis, options.redis.prefix),
    configFeed() {
      feed ??= redisConfigFeed(createRedis(options.redis.url, "worker"), options.redis.prefix);
      return feed;
    },
    metrics,
    database,
    redis,
    queue,
    services,
    secrets,
    notify,
    redisPrefix: options.redis.prefix,
    workerConnection: openWorkerConnection,
    addHealthCheck(name, check) {
      checks[name] = check;
    },
    async close() {
      services.peerSync.close();
      if (hub) await (await hub.catch(() => undefined))?.close();
      await feed?.close();
      await queue.close().catch(() => {});
      for (const c of [redis, ...extraConnections]) c.disconnect();
      await database.close();
    },
  };
}
