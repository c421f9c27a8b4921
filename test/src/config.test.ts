import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_NOTIFY, parseConfig } from "../../src/config.js";
import { DEFAULT_NOTIFY as PLATFORM_DEFAULT_NOTIFY } from "../../src/platform.js";
import { spawnEntry } from "../support/spawn.js";

const KEY_HEX = "a".repeat(64);

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("parseConfig", () => {
  it("reads TRUST_PROXY as off, a hop count, or proxy addresses, and refuses anything else", () => {
    expect(parseConfig({}).http.trustProxy).toEqual({ kind: "none" });
    expect(parseConfig({ TRUST_PROXY: "false" }).http.trustProxy).toEqual({ kind: "none" });
    expect(parseConfig({ TRUST_PROXY: "2" }).http.trustProxy).toEqual({ kind: "hops", hops: 2 });
    expect(parseConfig({ TRUST_PROXY: "10.0.0.0/8, fd00::/8,192.0.2.1" }).http.trustProxy).toEqual({
      kind: "ranges",
      ranges: ["10.0.0.0/8", "fd00::/8", "192.0.2.1"],
    });
    for (const bad of ["true", "10.0.0.0/33", "proxy.example.com", "10.0.0.0/8,"]) {
      expect(problemsOf({ TRUST_PROXY: bad })[0]).toMatch(
        /^TRUST_PROXY: must be false, a number of proxy hops/,
      );
    }
  });

  it("reads CORS_ORIGINS as exact origins, none by default", () => {
    expect(parseConfig({}).http.corsOrigins).toEqual([]);
    expect(
      parseConfig({ CORS_ORIGINS: "https://app.example.com, http://localhost:5173" }).http.corsOrigins,
    ).toEqual(["https://app.example.com", "http://localhost:5173"]);
    for (const bad of ["https://app.example.com/", "app.example.com", "https://a.example.com/path", "*"])
      expect(problemsOf({ CORS_ORIGINS: bad })[0]).toMatch(/^CORS_ORIGINS\.0: |^CORS_ORIGINS: /);
  });

  it("gives every variable its documented default", () => {
    const config = parseConfig({});
    expect(config.http.port).toBe(8080);
    expect(config.redis).toEqual({ url: "redis://127.0.0.1:6379", prefix: "wiresync" });
    expect(config.database.kind).toBe("pglite");
    expect(config.workers.queues).toEqual(["peer-sync", "config-push", "email", "webhook"]);
    expect(config.log.level).toBe("info");
    expect(config.workers.shutdownTimeoutMs).toBe(10_000);
    expect(config.workers.retentionDays).toBe(90);
    expect(config.workers.usageHourlyRetentionDays).toBe(90);
    expect(parseConfig({ USAGE_HOURLY_RETENTION_DAYS: "0" }).workers.usageHourlyRetentionDays).toBe(0);
  });

  it("uses postgres when DATABASE_URL is set", () => {
    const config = parseConfig({ DATABASE_URL: "postgres://u@db:5432/wiresync" });
    expect(config.database).toEqual({
      kind: "postgres",
      url: "postgres://u@db:5432/wiresync",
      poolSize: 10,
      prepare: true,
      timeouts: { connectTimeoutSeconds: 5, statementTimeoutMs: 15_000, responseTimeoutMs: 20_000 },
    });
    const pooled = parseConfig({ DATABASE_URL: "postgres://u@db:5432/w", DATABASE_PREPARE: "false" });
    expect(pooled.auth.metricsToken).toBeUndefined();
    expect(parseConfig({ METRICS_TOKEN: "scrape-me-0123456789" }).auth.metricsToken).toBe(
      "scrape-me-0123456789",
    );
    expect(pooled.database).toMatchObject({ prepare: false });
  });

  it("reads the database's timeouts, and refuses a response bound not above the statement timeout", () => {
    const config = parseConfig({
      DATABASE_URL: "postgres://u@db:5432/w",
      DATABASE_CONNECT_TIMEOUT_SECONDS: "3",
      DATABASE_STATEMENT_TIMEOUT_MS: "4000",
      DATABASE_RESPONSE_TIMEOUT_MS: "6000",
      WORKER_STUCK_AFTER_MS: "90000",
    });
    expect(config.database).toMatchObject({
      timeouts: { connectTimeoutSeconds: 3, statementTimeoutMs: 4_000, responseTimeoutMs: 6_000 },
    });
    expect(config.workers.stuckAfterMs).toBe(90_000);
    expect(parseConfig({}).workers.stuckAfterMs).toBe(300_000);
    expect(() =>
      parseConfig({ DATABASE_STATEMENT_TIMEOUT_MS: "20000", DATABASE_RESPONSE_TIMEOUT_MS: "20000" }),
    ).toThrow(/DATABASE_RESPONSE_TIMEOUT_MS: must be longer than DATABASE_STATEMENT_TIMEOUT_MS/);
    expect(
      parseConfig({ DATABASE_URL: "postgres://u@db/w", DATABASE_STATEMENT_TIMEOUT_MS: "0" }).database,
    ).toMatchObject({ timeouts: { statementTimeoutMs: 0 } });
    expect(() => parseConfig({ DATABASE_STATEMENT_TIMEOUT_MS: "50" })).toThrow(
      /DATABASE_STATEMENT_TIMEOUT_MS: must be 0 \(not set\) or at least 100/,
    );
  });

  it("decodes a hex or base64 encryption key to 32 bytes", () => {
    expect(parseConfig({ ENCRYPTION_KEY: KEY_HEX }).secrets.encryptionKey?.length).toBe(32);
    const b64 = Buffer.alloc(32, 7).toString("base64");
    expect(parseConfig({ ENCRYPTION_KEY: b64 }).secrets.encryptionKey?.equals(Buffer.alloc(32, 7))).toBe(
      true,
    );
  });

  it("reads interface bindings by network name or id, with an optional namespace", () => {
    const { wireguard } = parseConfig({
      WG_INTERFACES: "office=wsync0, 0b2c6f1e-0000-4000-8000-000000000000=wsync1@hubns",
    });
    expect(wireguard.interfaces).toEqual([
      { network: "office", iface: "wsync0", netns: undefined },
      { network: "0b2c6f1e-0000-4000-8000-000000000000", iface: "wsync1", netns: "hubns" },
    ]);
  });

  it("returns a frozen config", () => {
    const config = parseConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it.each([
    ["a port out of range", { PORT: "70000" }, "PORT: must be a TCP port number from 0 to 65535"],
    ["a non-numeric port", { PORT: "eighty" }, "PORT: must be a TCP port number from 0 to 65535"],
    ["a fractional port", { PORT: "80.5" }, "PORT: must be a TCP port number from 0 to 65535"],
    ["a short JWT secret", { JWT_SECRET: "short" }, "JWT_SECRET: must be at least 32 characters"],
    ["a short metrics token", { METRICS_TOKEN: "short" }, "METRICS_TOKEN: must be at least 16 characters"],
    ["a negative retention", { RETENTION_DAYS: "-1" }, "RETENTION_DAYS:"],
    [
      "an hourly usage retention shorter than the series it serves",
      { USAGE_HOURLY_RETENTION_DAYS: "31" },
      "USAGE_HOURLY_RETENTION_DAYS: 0 (keep forever) or at least 32 days",
    ],
    [
      "an encryption key of 31 bytes",
      { ENCRYPTION_KEY: "ab".repeat(31) },
      "ENCRYPTION_KEY: must be 32 bytes",
    ],
    ["a non-redis REDIS_URL", { REDIS_URL: "http://localhost" }, "REDIS_URL: must be a redis://"],
    ["a non-postgres DATABASE_URL", { DATABASE_URL: "mysql://x" }, "DATABASE_URL: must be a postgres://"],
    ["an unknown log level", { LOG_LEVEL: "loud" }, "LOG_LEVEL:"],
    ["an unknown queue", { WORKER_QUEUES: "peer-sync,mail" }, "WORKER_QUEUES"],
    [
      "a bad cron expression",
      { STALE_RUN_CHECK_CRON: "every minute" },
      "STALE_RUN_CHECK_CRON: must be a cron",
    ],
    [
      "production on the embedded database",
      { NODE_ENV: "production" },
      "DATABASE_URL: is required when NODE_ENV=production",
    ],
  ])("rejects %s, naming the variable", (_name, env, expected) => {
    const problems = problemsOf(env);
    expect(problems.some((p) => p.startsWith(expected))).toBe(true);
  });

  it("lists every bad variable at once", () => {
    expect(problemsOf({ PORT: "-1", JWT_SECRET: "x", LOG_LEVEL: "nope" })).toHaveLength(3);
  });

  it("never echoes a secret's value in an error", () => {
    const problems = problemsOf({ JWT_SECRET: "hunter2-but-short" });
    expect(problems.join("\n")).not.toContain("hunter2");
  });
});

describe("parseConfig: notify settings", () => {
  it("defaults to safe production values with no email provider", () => {
    const { notify } = parseConfig({});
    expect(notify.webhooks).toMatchObject({
      allowPrivate: false,
      maxFailures: 10,
      timeoutMs: 10_000,
      maxInFlight: 2,
    });
    expect(parseConfig({}).workers.webhookConcurrency).toBe(16);
    expect(
      parseConfig({ WEBHOOK_MAX_IN_FLIGHT: "5", WEBHOOK_CONCURRENCY: "40" }).notify.webhooks.maxInFlight,
    ).toBe(5);
    expect(notify.email).toMatchObject({
      resendApiKey: undefined,
      resendBaseUrl: "https://api.resend.com",
      from: "wiresync <onboarding@resend.dev>",
      alertRecipients: [],
    });
    expect(notify.relayIntervalMs).toBe(5_000);
  });

  it("reads the Resend key, base URL, sender, alert recipients and the private-address switch", () => {
    const { notify } = parseConfig({
      RESEND_API_KEY: "re_123",
      RESEND_BASE_URL: "http://127.0.0.1:4010",
      EMAIL_FROM: "Ops <ops@example.com>",
      EMAIL_ALERTS_TO: "a@example.com, b@example.com",
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_MAX_FAILURES: "3",
    });
    expect(notify.email).toMatchObject({
      resendApiKey: "re_123",
      resendBaseUrl: "http://127.0.0.1:4010",
      from: "Ops <ops@example.com>",
      alertRecipients: ["a@example.com", "b@example.com"],
    });
    expect(notify.webhooks).toMatchObject({ allowPrivate: true, maxFailures: 3 });
  });

  it("times email by EMAIL_TIMEOUT_MS and webhooks by WEBHOOK_TIMEOUT_MS, each 10 s by default", () => {
    expect(parseConfig({}).notify.email.timeoutMs).toBe(10_000);
    const both = parseConfig({ EMAIL_TIMEOUT_MS: "2500", WEBHOOK_TIMEOUT_MS: "7000" }).notify;
    expect(both.email.timeoutMs).toBe(2_500);
    expect(both.webhooks.timeoutMs).toBe(7_000);
    expect(parseConfig({ WEBHOOK_TIMEOUT_MS: "7000" }).notify.email.timeoutMs).toBe(10_000);
  });

  it("gives entry points without notify settings the schema's defaults (DEFAULT_NOTIFY, written once)", () => {
    expect(DEFAULT_NOTIFY).toEqual(parseConfig({}).notify);
    expect(PLATFORM_DEFAULT_NOTIFY).toBe(DEFAULT_NOTIFY);
  });

  it.each([
    ["a bad email timeout", { EMAIL_TIMEOUT_MS: "50" }, "EMAIL_TIMEOUT_MS"],
    ["a bad alert address", { EMAIL_ALERTS_TO: "ops@example.com,nope" }, "EMAIL_ALERTS_TO"],
    ["a bad Resend URL", { RESEND_BASE_URL: "resend" }, "RESEND_BASE_URL"],
    ["a sender without an address", { EMAIL_FROM: "wiresync" }, "EMAIL_FROM"],
    ["a non-boolean switch", { WEBHOOK_ALLOW_PRIVATE: "sometimes" }, "WEBHOOK_ALLOW_PRIVATE"],
  ])("rejects %s", (_name, env, expected) => {
    expect(problemsOf(env).some((p) => p.startsWith(expected))).toBe(true);
  });
});

describe("an entry point with bad config", () => {
  it("exits 1 naming every bad variable and the fix, before touching DATA_DIR", async () => {
    const dataDir = path.join(tmpdir(), `wiresync-bad-config-${process.pid}-${Date.now()}`);
    const child = spawnEntry("apps/standalone/main.ts", {
      PORT: "abc",
      JWT_SECRET: "short",
      DATA_DIR: dataDir,
      DATABASE_URL: undefined,
    });
    expect(await child.waitForExit(30_000)).toEqual({ code: 1, signal: null });
    expect(child.stderr).toContain('PORT: must be a TCP port number from 0 to 65535 (got "abc")');
    expect(child.stderr).toContain("JWT_SECRET: must be at least 32 characters; generate one with");
    expect(child.stderr).toContain("See .env.example");
    expect(child.stderr).not.toContain('"short"');
    expect(child.stdout).toBe("");
    expect(existsSync(dataDir)).toBe(false);
  });
});
