/**
 * Configuration: the only module that reads `process.env`, besides `cli-config.ts` (the CLI's two
 * variables, apart so that a CLI call does not load the schemas below).
 * Over 400 lines on purpose: the one reader of process.env (STYLE.md rule 25) keeps the whole schema together.
 *
 * `parseConfig(env)` is pure (tests feed it plain objects); `loadConfig()` parses the real
 * environment once, prints every bad variable with its fix and exits 1. Domain code never imports
 * this module: entry points pass slices of the config into factories.
 */
import { isIP } from "node:net";
import { hostname } from "node:os";
import path from "node:path";
import cron from "node-cron";
import { z } from "zod";
import type { NatType } from "./nat/index.js";
import { canonicalNatType, NAT_TYPE_SPELLINGS } from "./nat/index.js";
import { QUEUE_NAMES, type QueueName } from "./queue/names.js";
import { DEFAULT_TICK_CRONS } from "./scheduler-claims/default-crons.js";

const SECOND = 1;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** A 32-byte key written as 64 hex characters or as base64 (44 characters). */
const encryptionKey = z.string().refine((v) => decodeKey(v) !== undefined, {
  message:
    "must be 32 bytes written as 64 hex characters or base64; generate one with `openssl rand -hex 32`",
});

/** A node-cron expression: five fields, or six with seconds first. */
const cronExpression = z
  .string()
  .refine((v) => cron.validate(v), "must be a cron expression such as '* * * * *'");

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Every variable wiresync reads, in the order `.env.example` lists them. */
export const EnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce
      .number({ error: "must be a TCP port number from 0 to 65535" })
      .int("must be a TCP port number from 0 to 65535")
      .min(0, "must be a TCP port number from 0 to 65535")
      .max(65535, "must be a TCP port number from 0 to 65535")
      .default(8080),
    HOST: z.string().min(1).default("0.0.0.0"),
    PUBLIC_URL: z.url().optional(),
    TRUST_PROXY: optionalString.pipe(
      z
        .string()
        .optional()
        .superRefine((v, ctx) => {
          const problem = v === undefined ? undefined : trustProxyProblem(v);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
    ),
    CORS_ORIGINS: csv.pipe(
      z.array(
        z.string().refine((v) => isOrigin(v), {
          message:
            "each entry must be an origin: scheme://host[:port], no path or trailing slash (e.g. https://app.example.com)",
        }),
      ),
    ),
    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL (leave unset for the embedded database)")
        .optional(),
    ),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    DATABASE_PREPARE: bool.default(true),
    DATABASE_CONNECT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(5),
    DATABASE_STATEMENT_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .refine((v) => v === 0 || v >= 100, "must be 0 (not set) or at least 100")
      .max(HOUR * 1_000)
      .default(15 * SECOND * 1_000),
    DATABASE_RESPONSE_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(200)
      .max(HOUR * 1_000)
      .default(20 * SECOND * 1_000),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .default("redis://127.0.0.1:6379"),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, "may hold only letters, digits, '_', '.' and '-'")
      .default("wiresync"),
    DATA_DIR: z.string().min(1).default("./data"),
    API_KEY: optionalString.pipe(z.string().min(24, "must be at least 24 characters").optional()),
    JWT_SECRET: optionalString.pipe(
      z
        .string()
        .min(32, "must be at least 32 characters; generate one with `openssl rand -hex 32`")
        .optional(),
    ),
    JWT_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 24 * HOUR)
      .default(1 * HOUR),
    METRICS_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
    /** One `/metrics` series per node and direction: off by default (cardinality grows with the fleet). */
    METRICS_PER_PEER: bool.default(false),
    ENCRYPTION_KEY: optionalString.pipe(encryptionKey.optional()),
    ENCRYPTION_KEYS_PREVIOUS: csv.pipe(z.array(encryptionKey)),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
    WORKER_QUEUES: csv.pipe(z.array(z.enum(QUEUE_NAMES))),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
    /** On SIGTERM, in-flight jobs get this long; long sync runs hand their job back before it ends. */
    WG_INTERFACES: csv.pipe(
      z.array(
        z
          .string()
          .regex(
            /^[^=\s]+=[A-Za-z0-9_.-]{1,15}(@[A-Za-z0-9_.-]{1,64})?$/,
            "each entry must be network=interface (or network=interface@netns), e.g. office=wsync0",
          ),
      ),
    ),
    WG_DRIVER: z.enum(["auto", "uapi", "wg"]).default("auto"),
    WG_MIN_APPLY_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(250),
    WG_FORWARDING: z.enum(["on", "off"]).default("on"),
    /** This hub host's id (its peer-sync queue is `peer-sync.<HUB_ID>`); the host name unless set. */
    HUB_ID: optionalString.pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
          "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )
        .optional(),
    ),
    /** How long a network's lease lasts without renewal: a standby takes over about this long after its host died. */
    HUB_LEASE_SECONDS: z.coerce.number().int().min(3).max(600).default(15),
    WORKER_SHUTDOWN_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(10 * MINUTE * 1000)
      .default(10 * SECOND * 1000),
    SCHEDULER_ENABLED: bool.default(true),
    NODE_OFFLINE_AFTER_SECONDS: z.coerce
      .number()
      .int()
      .min(30)
      .max(86_400)
      .default(3 * MINUTE),
    WORKER_LOCK_DURATION_MS: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(10 * MINUTE * 1_000)
      .default(30_000),
    WORKER_STUCK_AFTER_MS: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(24 * HOUR * 1_000)
      .default(5 * MINUTE * 1_000),
    WORKER_HEALTH_PORT: optionalString.pipe(
      z.coerce.number<string | undefined>().int().min(1).max(65_535).optional(),
    ),
    STALE_RUN_CHECK_CRON: cronExpression.default("* * * * *"),
    NODE_LIVENESS_CRON: cronExpression.default(DEFAULT_TICK_CRONS.nodeLiveness),
    RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(90),
    RETENTION_CRON: cronExpression.default(DEFAULT_TICK_CRONS.retention),
    // The usage series serves up to 31 days of hourly points: a shorter retention would blank them.
    USAGE_HOURLY_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(0)
      .max(36_500)
      .refine((days) => days === 0 || days >= 32, "0 (keep forever) or at least 32 days")
      .default(90),
    QUOTA_RESTORE_CRON: cronExpression.default(DEFAULT_TICK_CRONS.quotaRestore),
    OUTBOX_RELAY_INTERVAL_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(HOUR * 1_000)
      .default(5_000),
    OUTBOX_SWEEP_GRACE_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(HOUR * 1_000)
      .default(30_000),
    WEBHOOK_ALLOW_PRIVATE: bool.default(false),
    WEBHOOK_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(MINUTE * 1_000)
      .default(10_000),
    WEBHOOK_MAX_FAILURES: z.coerce.number().int().min(1).max(1_000).default(10),
    WEBHOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100).default(2),
    WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(16),
    NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
    NOTIFY_BACKOFF_BASE_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(HOUR * 1_000)
      .default(2_000),
    NOTIFY_BACKOFF_MAX_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(24 * HOUR * 1_000)
      .default(15 * MINUTE * 1_000),
    RESEND_API_KEY: optionalString,
    RESEND_BASE_URL: z.url().default("https://api.resend.com"),
    EMAIL_FROM: z
      .string()
      .trim()
      .min(3)
      .regex(
        /^[^\r\n]*@[^\r\n]*$/,
        "must be an address, optionally with a name: `wiresync <ops@example.com>`",
      )
      .default("wiresync <onboarding@resend.dev>"),
    EMAIL_ALERTS_TO: csv.pipe(z.array(z.email())),
    EMAIL_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(MINUTE * 1_000)
      .default(10_000),
    TURN_URLS: csv.pipe(
      z.array(
        z
          .string()
          .regex(
            /^(stun|stuns|turn|turns):[^\s?]+(\?transport=(udp|tcp))?$/,
            "each entry must be a stun:, stuns:, turn: or turns: URL, e.g. turn:turn.example.com:3478?transport=udp",
          ),
      ),
    ),
    TURN_SECRET: optionalString.pipe(
      z
        .string()
        .min(16, "must be at least 16 characters; generate one with `openssl rand -hex 32`")
        .optional(),
    ),
    TURN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 24 * HOUR)
      .default(1 * HOUR),
  })
  .superRefine((env, ctx) => {
    const ifaces = env.WG_INTERFACES.map((e) => parseBinding(e).iface);
    const dup = ifaces.find((name, i) => ifaces.indexOf(name) !== i);
    if (dup) {
      ctx.addIssue({
        code: "custom",
        path: ["WG_INTERFACES"],
        message: `names interface ${dup} twice; each network needs an interface of its own`,
      });
    }
    if (env.DATABASE_RESPONSE_TIMEOUT_MS <= env.DATABASE_STATEMENT_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_RESPONSE_TIMEOUT_MS"],
        message:
          "must be longer than DATABASE_STATEMENT_TIMEOUT_MS, so that Postgres cancels a slow statement before the connection is given up",
      });
    }
    const hasTurn = env.TURN_URLS.some((u) => /^turns?:/.test(u));
    if (hasTurn && env.TURN_SECRET === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["TURN_SECRET"],
        message: "is required when TURN_URLS names a turn: server; set it to coturn's static-auth-secret",
      });
    }
    if (!hasTurn && env.TURN_SECRET !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["TURN_URLS"],
        message: "names no turn: server, so TURN_SECRET is unused; add the coturn server's turn: URL",
      });
    }
    if (env.NODE_ENV === "production" && env.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_URL"],
        message:
          "is required when NODE_ENV=production (the embedded database serves one process only); set it to your Postgres URL",
      });
    }
  });

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  readonly env: Env["NODE_ENV"];
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly publicUrl: string | undefined;
    /** Which peers may say who the client is (`X-Forwarded-For`) and how it came (`X-Forwarded-Proto`). */
    readonly trustProxy: TrustProxy;
    /** Browser origins allowed to call the API from their pages (CORS); none by default. */
    readonly corsOrigins: readonly string[];
  };
  readonly database:
    | {
        readonly kind: "postgres";
        readonly url: string;
        readonly poolSize: number;
        readonly prepare: boolean;
        readonly timeouts: {
          readonly connectTimeoutSeconds: number;
          readonly statementTimeoutMs: number;
          readonly responseTimeoutMs: number;
        };
      }
    | { readonly kind: "pglite"; readonly dataDir: string };
  readonly redis: { readonly url: string; readonly prefix: string };
  readonly dataDir: string;
  readonly secrets: {
    readonly apiKey: string | undefined;
    readonly jwtSecret: string | undefined;
    readonly encryptionKey: Buffer | undefined;
    readonly previousEncryptionKeys: readonly Buffer[];
  };
  readonly auth: {
    readonly jwtTtlSeconds: number;
    /** When set, `/metrics` asks for `Authorization: Bearer <metricsToken>`. IMPORTANT: a secret. */
    readonly metricsToken: string | undefined;
  };
  /** What `/metrics` exports beyond the process's own series. */
  readonly metrics: { readonly perPeer: boolean };
  readonly log: { readonly level: Env["LOG_LEVEL"]; readonly pretty: boolean };
  readonly wireguard: {
    /** The interfaces this worker owns, by network name or id. */
    readonly interfaces: readonly InterfaceBinding[];
    readonly driver: "auto" | "uapi" | "wg";
    /** Least time between two writes to one interface: bursts of changes coalesce into few writes. */
    readonly minApplyIntervalMs: number;
    /** `on`: turn on forwarding (and network isolation) for owned hub interfaces; `off`: leave it alone. */
    readonly forwarding: "on" | "off";
  };
  /** This process as a hub host: `HUB_ID` (the host name unless set) and `HUB_LEASE_SECONDS`. */
  readonly hubs: { readonly id: string; readonly leaseSeconds: number };
  readonly workers: {
    readonly queues: readonly QueueName[];
    readonly concurrency: number;
    readonly shutdownTimeoutMs: number;
    readonly schedulerEnabled: boolean;
    readonly staleRunCheckCron: string;
    /** When the scheduler marks silent nodes offline, prunes history and restores quota-disabled nodes (cron). */
    readonly crons: {
      readonly nodeLiveness: string;
      readonly retention: string;
      readonly quotaRestore: string;
    };
    readonly nodeOfflineAfterSeconds: number;
    readonly lockDurationMs: number;
    /** A job or scheduler tick running longer than this marks the worker unhealthy at `/health/ready`. */
    readonly stuckAfterMs: number;
    /** A worker process (`workers/main.ts`) serves `/health/live` and `/health/ready` here; none when unset. */
    readonly healthPort: number | undefined;
    /** Webhook jobs a worker runs at once (they mostly wait on receivers). */
    readonly webhookConcurrency: number;
    /** Finished history older than this many days is pruned every hour; 0 keeps it forever. */
    readonly retentionDays: number;
    /** Hourly usage older than this many days is pruned with the history (monthly totals stay); 0 keeps it. */
    readonly usageHourlyRetentionDays: number;
  };
  readonly notify: NotifyConfig;
  /** STUN/TURN servers handed to nodes (`GET /api/v1/turn/ice`). IMPORTANT: `secret` is a secret. */
  readonly turn: {
    readonly urls: readonly string[];
    readonly secret: string | undefined;
    readonly ttlSeconds: number;
  };
}

/** Webhooks, email and the outbox relay (`PlatformOptions.notify`). */
export interface NotifyConfig {
  readonly relayIntervalMs: number;
  readonly sweepGraceMs: number;
  readonly webhooks: {
    readonly allowPrivate: boolean;
    readonly timeoutMs: number;
    readonly maxFailures: number;
    /** Deliveries of one webhook sent at once: a slow or dead receiver holds no more worker slots. */
    readonly maxInFlight: number;
    readonly maxAttempts: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
  };
  readonly email: {
    readonly resendApiKey: string | undefined;
    readonly resendBaseUrl: string;
    readonly from: string;
    readonly alertRecipients: readonly string[];
    readonly timeoutMs: number;
    readonly maxAttempts: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
  };
}

/** The host name as a hub id: characters a queue name may not hold become '-'. */
function hubIdOf(host: string): string {
  const id = host.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 63);
  return /^[A-Za-z0-9]/.test(id) ? id : `hub-${id}`.slice(0, 63);
}

/** A network's hub interface on this host: `WG_INTERFACES=office=wsync0` or `office=wsync0@netns`. */
export interface InterfaceBinding {
  /** Network name or id. */
  readonly network: string;
  readonly iface: string;
  /** Network namespace of the interface, if not the worker's own. */
  readonly netns: string | undefined;
}

/** Parses one `network=iface[@netns]` entry (already validated by the schema). */
export function parseBinding(entry: string): InterfaceBinding {
  const eq = entry.indexOf("=");
  const [iface, netns] = entry.slice(eq + 1).split("@") as [string, string | undefined];
  return { network: entry.slice(0, eq), iface, netns };
}

/**
 * Which peers are proxies whose forwarding headers count: none (`false`, the default), the nearest
 * `hops` (each one appends to `X-Forwarded-For`), or the peers whose address is in `ranges` (IPs and
 * CIDRs, v4 or v6).
 */
export type TrustProxy =
  | { readonly kind: "none" }
  | { readonly kind: "hops"; readonly hops: number }
  | { readonly kind: "ranges"; readonly ranges: readonly string[] };

const TRUST_PROXY_HELP =
  "must be false, a number of proxy hops (1 for one reverse proxy in front), or comma-separated proxy IPs/CIDRs (e.g. 10.0.0.0/8,fd00::/8)";

function trustProxyProblem(value: string): string | undefined {
  if (/^(false|0|no)$/i.test(value) || /^[1-9]$/.test(value)) return undefined;
  const ranges = value.split(",").map((s) => s.trim());
  return ranges.every((r) => isAddressRange(r)) ? undefined : TRUST_PROXY_HELP;
}

/** True for an IPv4 or IPv6 address, alone or as a CIDR with a prefix length that fits it. */
function isAddressRange(value: string): boolean {
  const [address, bits, extra] = value.split("/");
  const version = isIP(address ?? "");
  if (version === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

function parseTrustProxy(value: string | undefined): TrustProxy {
  if (value === undefined || /^(false|0|no)$/i.test(value)) return { kind: "none" };
  if (/^[1-9]$/.test(value)) return { kind: "hops", hops: Number(value) };
  return { kind: "ranges", ranges: value.split(",").map((s) => s.trim()) };
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
  } catch {
    return false;
  }
}

/** One line per bad variable: `NAME: what is wrong and how to fix it`. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Decodes a 32-byte key from hex or base64; undefined when it is neither. */
export function decodeKey(value: string): Buffer | undefined {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const buf = Buffer.from(v, "base64");
    if (buf.length === 32) return buf;
  }
  return undefined;
}

/**
 * Parses an environment into a frozen `Config`.
 * Throws `ConfigError` listing every bad variable (by name, with the fix); never reads `process.env`.
 */
export function parseConfig(source: Record<string, string | undefined>): Config {
  const result = EnvSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      const got = source[name];
      const shown = got === undefined || isSecretVar(name) ? "" : ` (got ${JSON.stringify(got)})`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(problems);
  }
  const env = result.data;
  const dataDir = path.resolve(env.DATA_DIR);
  const config: Config = {
    env: env.NODE_ENV,
    http: {
      port: env.PORT,
      host: env.HOST,
      publicUrl: env.PUBLIC_URL,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      corsOrigins: env.CORS_ORIGINS,
    },
    database: env.DATABASE_URL
      ? {
          kind: "postgres",
          url: env.DATABASE_URL,
          poolSize: env.DATABASE_POOL_SIZE,
          prepare: env.DATABASE_PREPARE,
          timeouts: {
            connectTimeoutSeconds: env.DATABASE_CONNECT_TIMEOUT_SECONDS,
            statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
            responseTimeoutMs: env.DATABASE_RESPONSE_TIMEOUT_MS,
          },
        }
      : { kind: "pglite", dataDir: path.join(dataDir, "pglite") },
    redis: { url: env.REDIS_URL, prefix: env.REDIS_PREFIX },
    dataDir,
    secrets: {
      apiKey: env.API_KEY,
      jwtSecret: env.JWT_SECRET,
      encryptionKey: env.ENCRYPTION_KEY ? decodeKey(env.ENCRYPTION_KEY) : undefined,
      previousEncryptionKeys: env.ENCRYPTION_KEYS_PREVIOUS.map((k) => decodeKey(k) as Buffer),
    },
    auth: { jwtTtlSeconds: env.JWT_TTL_SECONDS, metricsToken: env.METRICS_TOKEN },
    metrics: { perPeer: env.METRICS_PER_PEER },
    log: { level: env.LOG_LEVEL, pretty: (env.LOG_FORMAT ?? defaultLogFormat(env.NODE_ENV)) === "pretty" },
    wireguard: {
      interfaces: env.WG_INTERFACES.map(parseBinding),
      driver: env.WG_DRIVER,
      minApplyIntervalMs: env.WG_MIN_APPLY_INTERVAL_MS,
      forwarding: env.WG_FORWARDING,
    },
    hubs: { id: env.HUB_ID ?? hubIdOf(hostname()), leaseSeconds: env.HUB_LEASE_SECONDS },
    workers: {
      queues: env.WORKER_QUEUES.length > 0 ? env.WORKER_QUEUES : QUEUE_NAMES,
      concurrency: env.WORKER_CONCURRENCY,
      shutdownTimeoutMs: env.WORKER_SHUTDOWN_TIMEOUT_MS,
      schedulerEnabled: env.SCHEDULER_ENABLED,
      staleRunCheckCron: env.STALE_RUN_CHECK_CRON,
      crons: {
        nodeLiveness: env.NODE_LIVENESS_CRON,
        retention: env.RETENTION_CRON,
        quotaRestore: env.QUOTA_RESTORE_CRON,
      },
      nodeOfflineAfterSeconds: env.NODE_OFFLINE_AFTER_SECONDS,
      lockDurationMs: env.WORKER_LOCK_DURATION_MS,
      stuckAfterMs: env.WORKER_STUCK_AFTER_MS,
      healthPort: env.WORKER_HEALTH_PORT,
      webhookConcurrency: env.WEBHOOK_CONCURRENCY,
      retentionDays: env.RETENTION_DAYS,
      usageHourlyRetentionDays: env.USAGE_HOURLY_RETENTION_DAYS,
    },
    notify: {
      relayIntervalMs: env.OUTBOX_RELAY_INTERVAL_MS,
      sweepGraceMs: env.OUTBOX_SWEEP_GRACE_MS,
      webhooks: {
        allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
        timeoutMs: env.WEBHOOK_TIMEOUT_MS,
        maxFailures: env.WEBHOOK_MAX_FAILURES,
        maxInFlight: env.WEBHOOK_MAX_IN_FLIGHT,
        maxAttempts: env.NOTIFY_MAX_ATTEMPTS,
        backoffBaseMs: env.NOTIFY_BACKOFF_BASE_MS,
        backoffMaxMs: env.NOTIFY_BACKOFF_MAX_MS,
      },
      email: {
        resendApiKey: env.RESEND_API_KEY,
        resendBaseUrl: env.RESEND_BASE_URL,
        from: env.EMAIL_FROM,
        alertRecipients: env.EMAIL_ALERTS_TO,
        timeoutMs: env.EMAIL_TIMEOUT_MS,
        maxAttempts: env.NOTIFY_MAX_ATTEMPTS,
        backoffBaseMs: env.NOTIFY_BACKOFF_BASE_MS,
        backoffMaxMs: env.NOTIFY_BACKOFF_MAX_MS,
      },
    },
    turn: { urls: env.TURN_URLS, secret: env.TURN_SECRET, ttlSeconds: env.TURN_TTL_SECONDS },
  };
  return deepFreeze(config);
}

/**
 * Notify settings when an entry point passes none: the schema's own defaults (production-safe, no
 * email provider), so they are written once, in `EnvSchema`.
 */
export const DEFAULT_NOTIFY: NotifyConfig = parseConfig({}).notify;

let loaded: Config | undefined;

/**
 * Parses `process.env` once. On bad config prints every problem to stderr and exits 1.
 */
export function loadConfig(): Config {
  if (loaded) return loaded;
  try {
    loaded = parseConfig(process.env);
    return loaded;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wiresync: ${err.message}\nSee .env.example for every variable.\n`);
      process.exit(1);
    }
    throw err;
  }
}

function isSecretVar(name: string): boolean {
  return /KEY|SECRET|PASSWORD|TOKEN|DATABASE_URL|REDIS_URL/.test(name);
}

function defaultLogFormat(nodeEnv: Env["NODE_ENV"]): "json" | "pretty" {
  return nodeEnv === "development" && process.stdout.isTTY ? "pretty" : "json";
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Buffer.isBuffer(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** What the node agent (`apps/agent`) reads. */
export const AgentEnvSchema = z.object({
  WIRESYNC_URL: z.url(),
  AGENT_ENROLLMENT_KEY: optionalString,
  AGENT_STATE_DIR: z.string().min(1).default("/var/lib/wiresync-agent"),
  AGENT_INTERFACE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/, "must be an interface name of 1–15 letters, digits, '_', '.' or '-'")
    .default("wsync0"),
  AGENT_NETNS: optionalString,
  AGENT_NAME: optionalString,
  AGENT_NAT_TYPE: optionalString
    .refine((v) => v === undefined || canonicalNatType(v) !== undefined, {
      message: `must be a NAT type: ${NAT_TYPE_SPELLINGS}`,
    })
    .transform((v) => (v === undefined ? undefined : canonicalNatType(v))),
  AGENT_HEARTBEAT_SECONDS: z.coerce.number().int().min(5).max(3_600).default(30),
  /** Rotate the node's key when it is this many days old (fractions allowed); 0: only on command. */
  AGENT_ROTATE_KEY_DAYS: z.coerce.number().min(0).max(3_650).default(0),
  AGENT_RELAY: z.enum(["on", "off"]).default("on"),
  AGENT_RELAY_AFTER_SECONDS: z.coerce.number().min(1).max(600).default(12),
  AGENT_RELAY_PROBE_SECONDS: z.coerce.number().min(5).max(3_600).default(60),
  WG_DRIVER: z.enum(["auto", "uapi", "wg"]).default("auto"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export interface AgentConfig {
  readonly url: string;
  readonly enrollmentKey: string | undefined;
  readonly stateDir: string;
  readonly iface: string;
  readonly netns: string | undefined;
  readonly name: string | undefined;
  /** The node's NAT type (canonical), registered with the node; undefined when not known. */
  readonly natType: NatType | undefined;
  readonly heartbeatSeconds: number;
  /** Days after which the agent rotates the node's key by itself; 0: only when an operator asks. */
  readonly rotateKeyDays: number;
  /** Relay mode: off, or when a peer is relayed and how often it is tried directly again. */
  readonly relay: { readonly afterSeconds: number; readonly probeSeconds: number } | undefined;
  readonly driver: "auto" | "uapi" | "wg";
  readonly logLevel: string;
}

/** Parses the agent's environment; prints every problem and exits 1 when it is bad. */
export function loadAgentConfig(): AgentConfig {
  const result = AgentEnvSchema.safeParse(process.env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
    process.stderr.write(`wiresync-agent: invalid configuration:\n  ${problems.join("\n  ")}\n`);
    process.exit(1);
  }
  const e = result.data;
  return Object.freeze({
    url: e.WIRESYNC_URL.replace(/\/$/, ""),
    enrollmentKey: e.AGENT_ENROLLMENT_KEY,
    stateDir: path.resolve(e.AGENT_STATE_DIR),
    iface: e.AGENT_INTERFACE,
    netns: e.AGENT_NETNS,
    name: e.AGENT_NAME,
    natType: e.AGENT_NAT_TYPE,
    heartbeatSeconds: e.AGENT_HEARTBEAT_SECONDS,
    rotateKeyDays: e.AGENT_ROTATE_KEY_DAYS,
    relay:
      e.AGENT_RELAY === "on"
        ? { afterSeconds: e.AGENT_RELAY_AFTER_SECONDS, probeSeconds: e.AGENT_RELAY_PROBE_SECONDS }
        : undefined,
    driver: e.WG_DRIVER,
    logLevel: e.LOG_LEVEL,
  });
}
