import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpOptions } from "../../../../../apps/api/app.js";
import type { RunningServer } from "../../../../../apps/api/server.js";
import { listen } from "../../../../../apps/api/server.js";
import { DEFAULT_SIGN_IN_LIMITS } from "../../../../../src/auth/index.js";
import { createUser, PASSWORD } from "../../../../support/auth.js";
import type { Json } from "../../../../support/http.js";
import type { TestPlatform } from "../../../../support/platform.js";
import { createTestPlatform } from "../../../../support/platform.js";

const ACCOUNT_LIMIT = DEFAULT_SIGN_IN_LIMITS.accountFailures;
const SOURCE_LIMIT = DEFAULT_SIGN_IN_LIMITS.sourceFailures;
const WINDOW_SECONDS = DEFAULT_SIGN_IN_LIMITS.windowMs / 1000;
/** The test talks to the server over loopback: with this, 127.0.0.1 is a trusted proxy. */
const TRUST_LOOPBACK: HttpOptions = { trustProxy: { kind: "ranges", ranges: ["127.0.0.1", "::1"] } };

interface Served {
  t: TestPlatform;
  server: RunningServer;
  base: string;
}

async function serve(options: Parameters<typeof createTestPlatform>[0] = {}): Promise<Served> {
  const t = await createTestPlatform(options);
  const server = await listen(t.app, 0, "127.0.0.1");
  return { t, server, base: `http://127.0.0.1:${server.port}` };
}

async function close(s: Served | undefined) {
  await s?.server.close(100);
  await s?.t.close();
}

/** One HTTP call as a browser or script would make it, from `forwardedFor` if given. */
async function post(base: string, path: string, body: unknown, forwardedFor?: string) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as Json };
}

const login = (base: string, email: string, password: string, from?: string) =>
  post(base, "/api/auth/login", { email, password }, from);

/** `n` sign-ins in a row, returning their statuses. */
async function statuses(n: number, attempt: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await attempt(i)).status);
  return out;
}

const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

describe("sign-in limits per account", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ http: TRUST_LOOPBACK });
    for (const who of ["ada", "bob", "cy", "dee"]) await createUser(s.t, `${who}@example.test`);
  });
  afterAll(async () => {
    await close(s);
  });

  it(`answers 401 to the first ${ACCOUNT_LIMIT} wrong passwords and 429 to the next, even a right one`, async () => {
    const from = "198.51.100.1";
    expect(await statuses(ACCOUNT_LIMIT, () => login(s.base, "ada@example.test", "wrong", from))).toEqual(
      repeat(ACCOUNT_LIMIT, 401),
    );
    const refused = await login(s.base, "ada@example.test", PASSWORD, from);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.retryAfter);
    expect(retryAfter).toBeGreaterThan(WINDOW_SECONDS - 60);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(refused.body).toMatchObject({
      status: 429,
      title: "Too Many Requests",
      code: "TOO_MANY_ATTEMPTS",
      success: false,
      detail: `too many failed sign-ins for this account; retry in ${retryAfter} s`,
      error: { code: "TOO_MANY_ATTEMPTS", details: { retryAfterSeconds: retryAfter, limit: "account" } },
    });
    // Another address does not help: the limit is the account's.
    expect((await login(s.base, "ada@example.test", PASSWORD, "198.51.100.2")).status).toBe(429);
  });

  it("clears an account's failures when it signs in", async () => {
    const from = "198.51.100.3";
    const wrong = () => login(s.base, "bob@example.test", "wrong", from);
    expect(await statuses(ACCOUNT_LIMIT - 1, wrong)).toEqual(repeat(ACCOUNT_LIMIT - 1, 401));
    expect((await login(s.base, "bob@example.test", PASSWORD, from)).status).toBe(200);
    expect(await statuses(ACCOUNT_LIMIT, wrong)).toEqual(repeat(ACCOUNT_LIMIT, 401));
    expect((await wrong()).status).toBe(429);
  });

  it("counts the dashboard's email-and-password sign-in with the API's", async () => {
    const from = "198.51.100.4";
    const session = () =>
      post(s.base, "/api/auth/session", { email: "cy@example.test", password: "wrong" }, from);
    expect(await statuses(ACCOUNT_LIMIT - 2, session)).toEqual(repeat(ACCOUNT_LIMIT - 2, 401));
    expect(await statuses(2, () => login(s.base, "cy@example.test", "wrong", from))).toEqual([401, 401]);
    const refused = await post(
      s.base,
      "/api/auth/session",
      { email: "cy@example.test", password: PASSWORD },
      from,
    );
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("TOO_MANY_ATTEMPTS");
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
  });

  it("logs each failed sign-in at info with the client's address, never the password", async () => {
    const password = "a-guess-nobody-may-read-7f3a";
    expect((await login(s.base, "dee@example.test", password, "203.0.113.77")).status).toBe(401);
    const refused = s.t.logs
      .parsed()
      .filter((l) => l.msg === "request refused" && l.client === "203.0.113.77");
    expect(refused.map(({ level, code, status }) => ({ level, code, status }))).toEqual([
      { level: 30, code: "INVALID_CREDENTIALS", status: 401 },
    ]);
    expect(s.t.logs.text).not.toContain(password);
  });
});

describe("sign-in limits per source", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ http: TRUST_LOOPBACK });
    await createUser(s.t, "eve@example.test");
  });
  afterAll(async () => {
    await close(s);
  });

  it(`refuses a source after ${SOURCE_LIMIT} failures, whichever accounts it tries`, async () => {
    const from = "192.0.2.10";
    // Never the same account twice: only the source limit can stop this.
    const guesses = await statuses(SOURCE_LIMIT, (i) =>
      login(s.base, `guess${i}@example.test`, "wrong", from),
    );
    expect(guesses).toEqual(repeat(SOURCE_LIMIT, 401));
    const refused = await login(s.base, "eve@example.test", PASSWORD, from);
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ limit: "source" });
    expect(refused.body.detail).toMatch(/^too many failed sign-ins from your address; retry in \d+ s$/);
    // The same account from elsewhere is fine.
    expect((await login(s.base, "eve@example.test", PASSWORD, "192.0.2.11")).status).toBe(200);
  });

  it("counts an IPv6 client by its /64", async () => {
    const guesses = await statuses(SOURCE_LIMIT, (i) =>
      login(s.base, `v6-${i}@example.test`, "wrong", `2001:db8:0:7::${(i + 1).toString(16)}`),
    );
    expect(guesses).toEqual(repeat(SOURCE_LIMIT, 401));
    expect((await login(s.base, "eve@example.test", PASSWORD, "2001:db8:0:7:ffff::1")).status).toBe(429);
    expect((await login(s.base, "eve@example.test", PASSWORD, "2001:db8:0:8::1")).status).toBe(200);
  });

  it("refuses anonymous registrations before any password hash, so they cannot spend the budget", async () => {
    const from = "192.0.2.20";
    const register = (i: number) =>
      post(s.base, "/api/auth/register", { email: `new${i}@example.test`, password: PASSWORD }, from);
    // Registration needs an admin: an anonymous try is refused before hashing and counts nowhere.
    expect(await statuses(SOURCE_LIMIT + 5, register)).toEqual(repeat(SOURCE_LIMIT + 5, 401));
    expect((await login(s.base, "nobody@example.test", "wrong", from)).status).toBe(401);
  });

  it("lets one source check only a few passwords at once; the rest are refused at once", async () => {
    const from = "192.0.2.30";
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => login(s.base, `burst${i}@example.test`, "wrong", from)),
    );
    const busy = results.filter((r) => r.status === 429);
    expect(results.map((r) => r.status).sort()).toEqual([
      ...repeat(DEFAULT_SIGN_IN_LIMITS.sourceConcurrency, 401),
      ...repeat(6 - DEFAULT_SIGN_IN_LIMITS.sourceConcurrency, 429),
    ]);
    for (const r of busy) {
      expect(r.retryAfter).toBe("1");
      expect(r.body.error.details).toEqual({ retryAfterSeconds: 1, limit: "busy" });
    }
  });
});

describe("sign-in limits across API processes", () => {
  let a: Served;
  let b: Served;
  beforeAll(async () => {
    a = await serve({ http: TRUST_LOOPBACK });
    // A second process of the same installation: same database, same Redis prefix.
    b = await serve({ http: TRUST_LOOPBACK, database: a.t.db, prefix: a.t.prefix });
    await createUser(a.t, "fay@example.test");
  });
  afterAll(async () => {
    await close(b);
    await close(a);
  });

  it("shares one account's count between two processes", async () => {
    const wrong = (on: Served) => login(on.base, "fay@example.test", "wrong", "198.51.100.9");
    expect(await statuses(3, () => wrong(a))).toEqual([401, 401, 401]);
    expect(await statuses(ACCOUNT_LIMIT - 3, () => wrong(b))).toEqual(repeat(ACCOUNT_LIMIT - 3, 401));
    expect((await login(a.base, "fay@example.test", PASSWORD)).status).toBe(429);
    expect((await login(b.base, "fay@example.test", PASSWORD)).status).toBe(429);
  });
});

describe("X-Forwarded-For", () => {
  it("is ignored without TRUST_PROXY: a client cannot pick a fresh address per guess", async () => {
    const s = await serve();
    try {
      const guesses = await statuses(SOURCE_LIMIT, (i) =>
        login(s.base, `g${i}@example.test`, "wrong", `203.0.113.${i + 1}`),
      );
      expect(guesses).toEqual(repeat(SOURCE_LIMIT, 401));
      expect((await login(s.base, "next@example.test", "wrong", "203.0.113.200")).status).toBe(429);
      const clients = new Set(
        s.t.logs
          .parsed()
          .filter((l) => l.msg === "request refused")
          .map((l) => l.client),
      );
      expect([...clients]).toEqual(["127.0.0.1"]);
    } finally {
      await close(s);
    }
  });

  it("is honoured from a trusted proxy, one hop (TRUST_PROXY=1): each forwarded client has its own budget", async () => {
    const s = await serve({ http: { trustProxy: { kind: "hops", hops: 1 } } });
    try {
      const guesses = await statuses(SOURCE_LIMIT, (i) =>
        login(s.base, `g${i}@example.test`, "wrong", "10.9.9.9, 203.0.113.5"),
      );
      expect(guesses).toEqual(repeat(SOURCE_LIMIT, 401));
      expect((await login(s.base, "next@example.test", "wrong", "203.0.113.5")).status).toBe(429);
      // The entry the client wrote itself (10.9.9.9) is not believed; another client is not limited.
      expect((await login(s.base, "next@example.test", "wrong", "203.0.113.6")).status).toBe(401);
      const clients = new Set(
        s.t.logs
          .parsed()
          .filter((l) => l.msg === "request refused")
          .map((l) => l.client),
      );
      expect([...clients].sort()).toEqual(["203.0.113.5", "203.0.113.6"]);
    } finally {
      await close(s);
    }
  });
});

describe("sign-ins while Redis is down", () => {
  it("answer 503 with Retry-After: without the counts, guesses would be unlimited", async () => {
    const t = await createTestPlatform({ redisUrl: "redis://127.0.0.1:1" });
    try {
      const res = await t.request("/api/auth/login", {
        method: "POST",
        body: { email: "ada@example.test", password: "whatever" },
        key: null,
      });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(await res.json()).toMatchObject({
        code: "DEPENDENCY_UNAVAILABLE",
        detail: "sign-in limits cannot be checked right now (Redis); retry shortly",
      });
    } finally {
      await t.close();
    }
  });
});
