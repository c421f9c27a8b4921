/**
 * A standing fuzz test of the whole API, driven by `/openapi.json`: every operation gets requests
 * built from its own schema with hostile values mixed in (NUL, lone surrogates, huge and negative
 * numbers, wrong types, deep nesting, prototype keys, overlong strings, bad UUIDs, weird prefixes and
 * keys, empty bodies, wrong content types). Seeded and reproducible: the seed is printed, and
 * `FUZZ_SEED=<seed>` replays a run. Asserts that no request answers 5xx, that every refusal is a
 * JSON problem, and that a refused request wrote no row (a trigger counts the rows written to every
 * table, in the writing transaction, so a rolled-back write does not count).
 *
 * All traffic stays in-process: webhook hosts resolve through a stand-in resolver, no worker runs
 * (queued emails and deliveries are never sent), and the one operation that calls a receiver at once
 * (the webhook test) is left out.
 */
import { generateKeyPairSync, randomInt } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUZZ_SEED } from "../../support/env.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import type { WriteCounter } from "../../support/snapshot.js";
import { installWriteCounter } from "../../support/snapshot.js";

/** Requests per run: enough to meet every operation in every way dozens of times, within ~30 s. */
const REQUESTS = 5_000;
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Operations left out, and why. */
const SKIPPED: Record<string, string> = {
  // Sends a test event to the receiver at once: traffic out of the process.
  "patch /api/admin/settings/webhooks": "calls the webhook receiver",
};

/** Operations never given a real id: they wait for a peer-sync worker (none runs here) for 10–15 s. */
const NO_REAL_ID = new Set(["get /api/v1/networks/{id}/drift", "post /api/v1/networks/{id}/adopt"]);

/** Operations that hash a password (~40 ms each): fewer requests, so the run stays short. */
const EXPENSIVE = new Set(["post /api/auth/register", "post /api/auth/login", "post /api/auth/session"]);

/**
 * Refusals that may write: a failed sign-in may be recorded (for throttling, or in the audit log), as
 * long as it answers 401 or 429. Every other refusal must leave every table as it was.
 */
const MAY_RECORD_REFUSAL = new Set(["post /api/auth/login", "post /api/auth/session"]);
const mayRecord = (key: string, status: number) =>
  MAY_RECORD_REFUSAL.has(key) && (status === 401 || status === 429);

/** sfc32: a small, fast, seeded PRNG (numbers in [0, 1)). */
function prng(seed: number) {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    uuid: () =>
      "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, (ch) =>
        (ch === "x" ? int(16) : 8 + int(4)).toString(16),
      ),
  };
}
type Rng = ReturnType<typeof prng>;

/** Stand-ins for JSON that `JSON.stringify` cannot write; replaced in the request text. */
const RAW: Record<string, string> = {
  "\u0001HUGE\u0001": "1e999",
  "\u0001NEGHUGE\u0001": "-1e999",
  "\u0001LONGINT\u0001": "123456789012345678901234567890",
  "\u0001DEEP\u0001": `${"[".repeat(5000)}${"]".repeat(5000)}`,
  "\u0001DEEPOBJ\u0001": `${'{"a":'.repeat(4600)}1${"}".repeat(4600)}`,
  "\u0001SURROGATE\u0001": '"\\ud800"',
  "\u0001LOWSURROGATE\u0001": '"a\\udfffb"',
  "\u0001PROTO\u0001": '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
};
const RAW_KEYS = Object.keys(RAW);

function toText(value: unknown): string {
  let text = JSON.stringify(value) ?? "null";
  for (const [marker, raw] of Object.entries(RAW)) text = text.replaceAll(JSON.stringify(marker), raw);
  return text;
}

/** A well-formed, strong WireGuard public key. */
function realKey(): string {
  const spki = generateKeyPairSync("x25519").publicKey.export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

const WEAK_KEYS = [
  Buffer.alloc(32).toString("base64"),
  Buffer.from("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "hex").toString("base64"),
  Buffer.from("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "hex").toString("base64"),
];

const HOSTILE_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00",
  "\r\nX-Injected: 1",
  "[Peer]\nPublicKey = x",
  "x".repeat(300),
  "x".repeat(70_000),
  "😀".repeat(40),
  "../../etc/passwd",
  "%00",
  "%s%n%x",
  "<script>alert(1)</script>",
  "' or 1=1 --",
  "NaN",
  "Infinity",
  "-1",
  "1e999",
  "null",
  "[object Object]",
  "toString",
  "constructor",
  "__proto__",
  "not-a-uuid",
  "00000000-0000-0000-0000-000000000000",
  "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF",
  "10.0.0.0/33",
  "10.0.0.0/024",
  "10.0.0.1/24",
  "10.0.0.0/-1",
  "127.0.0.0/8",
  "0.0.0.0/0",
  "224.0.0.0/4",
  "169.254.0.0/16",
  "10.0.0.0/32",
  "10.0.0.0/31",
  "::/0",
  "::1/128",
  "::/129",
  "fe80::/10",
  "ff00::/8",
  "::ffff:10.0.0.0/120",
  "fd00::/127",
  "999.999.999.999",
  "[::1]:99999",
  "host:0",
  "host:65536",
  "a@b",
  "@example.com",
  "2001-01-01T00:00:00Z",
  "2030-02-30",
  "9999999-01-01",
  "javascript:alert(1)",
  "file:///etc/passwd",
  "http://127.0.0.1:9/",
  ...WEAK_KEYS,
  "A".repeat(43),
  "A".repeat(45),
];
const HOSTILE_NUMBERS = [
  0,
  -1,
  1,
  1.5,
  -0.5,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
  65535,
  65536,
  51820,
];

/** Any hostile value: a string, a number, a wrong type, or one of the raw stand-ins. */
function hostile(rng: Rng): unknown {
  switch (rng.int(5)) {
    case 0:
    case 1:
      return rng.pick(HOSTILE_STRINGS);
    case 2:
      return rng.pick(HOSTILE_NUMBERS);
    case 3:
      return rng.pick([null, true, false, [], {}, [1, "a", null], { nested: { deeper: [1, 2] } }]);
    default:
      return rng.pick(RAW_KEYS);
  }
}

interface Pools {
  networks: string[];
  nodes: string[];
  /** Every id seen in an answer, of any kind. */
  ids: string[];
  emails: string[];
  hubKeys: string[];
  enrollmentKey: string;
  nodeToken: { id: string; token: string };
  /** Ids no request may delete or change (the seed network and node). */
  kept: Set<string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Remembers ids and emails an answer names, so later requests can address what exists. */
function harvest(pools: Pools, body: unknown, base: string) {
  const stack = [body];
  let steps = 0;
  for (let v = stack.pop(); v !== undefined && steps < 500; v = stack.pop(), steps++) {
    if (Array.isArray(v)) stack.push(...v.slice(0, 20));
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.id === "string" && UUID.test(o.id)) {
        const list = base.endsWith("/networks")
          ? pools.networks
          : base.endsWith("/nodes")
            ? pools.nodes
            : pools.ids;
        if (!list.includes(o.id)) list.push(o.id);
        if (list !== pools.ids && !pools.ids.includes(o.id)) pools.ids.push(o.id);
      }
      if (typeof o.sync_log_id === "string") pools.ids.push(o.sync_log_id);
      if (typeof o.email === "string" && !pools.emails.includes(o.email)) pools.emails.push(o.email);
      if (typeof o.hubPublicKey === "string") pools.hubKeys.push(o.hubPublicKey);
      stack.push(...Object.values(o));
    }
  }
  for (const list of [pools.networks, pools.nodes, pools.ids, pools.emails, pools.hubKeys])
    if (list.length > 200) list.splice(0, list.length - 200);
}

/** A value for a string property, by its format, pattern and name: mostly valid, sometimes not. */
function stringFor(rng: Rng, schema: Json, name: string, pools: Pools, n: number): unknown {
  if (Array.isArray(schema.enum)) return rng.chance(0.9) ? rng.pick(schema.enum) : rng.pick(HOSTILE_STRINGS);
  const lower = name.toLowerCase();
  if (schema.format === "uuid" || lower.endsWith("id") || lower === "node" || lower === "network") {
    if (lower.startsWith("network") && pools.networks.length && rng.chance(0.8))
      return rng.pick(pools.networks);
    if (lower.startsWith("node") && pools.nodes.length && rng.chance(0.8)) return rng.pick(pools.nodes);
    return rng.chance(0.6) && pools.ids.length ? rng.pick(pools.ids) : rng.uuid();
  }
  if (schema.format === "email" || lower.includes("email") || lower === "to")
    return rng.chance(0.3) && pools.emails.length ? rng.pick(pools.emails) : `fuzz${n}@example.com`;
  if (schema.format === "date-time" || lower.endsWith("at"))
    return new Date(Date.now() + (rng.chance(0.8) ? 1 : -1) * 86_400_000).toISOString();
  if (lower === "cidr4") return `10.${rng.int(250)}.${rng.int(250)}.0/${rng.pick([24, 28, 30, 31])}`;
  if (lower === "cidr6") return `fd00:${rng.int(65535).toString(16)}::/${rng.pick([64, 120, 126])}`;
  if (lower.includes("allowedip")) return `192.168.${rng.int(250)}.0/24`;
  if (lower === "publickey")
    return rng.chance(0.15) && pools.hubKeys.length ? rng.pick(pools.hubKeys) : realKey();
  if (lower.includes("endpoint"))
    return rng.pick(["vpn.example.com:51820", "203.0.113.9:51820", "[2001:db8::1]:51820"]);
  if (lower.includes("url")) return `https://203.0.113.${rng.int(250)}/hook/${n}`;
  if (lower === "key") return `fuzz.k${rng.int(20)}`;
  if (lower === "password" || lower === "apikey") return "correct horse battery";
  if (lower === "month") return rng.pick(["2026-12", "2026-13", "1999-01"]);
  if (lower === "event" || lower === "events")
    return rng.pick(["node.enrolled", "fuzz.event", "sync.completed"]);
  if (lower === "country") return rng.pick(["DE", "US", "ZZ"]);
  if (lower === "ipv4") return "198.51.100.7";
  if (lower === "ipv6") return "2001:db8::7";
  if (schema.format === "ipv4") return "10.1.2.3";
  return `fuzz-${n}`;
}

/** A value for `schema`, hostile with probability `p` at each level. */
function generate(
  rng: Rng,
  spec: Json,
  schema: Json,
  name: string,
  pools: Pools,
  p: number,
  depth = 0,
): unknown {
  if (schema?.$ref) schema = spec.components.schemas[String(schema.$ref).split("/").pop()!];
  if (!schema || rng.chance(p)) return hostile(rng);
  const n = rng.int(1_000_000);
  const options = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(options)) return generate(rng, spec, rng.pick(options), name, pools, p, depth);
  const type = Array.isArray(schema.type) ? rng.pick(schema.type) : schema.type;
  switch (type) {
    case "string":
      return stringFor(rng, schema, name, pools, n);
    case "integer":
    case "number": {
      const min = typeof schema.minimum === "number" ? schema.minimum : 0;
      const max = typeof schema.maximum === "number" ? schema.maximum : min + 1000;
      const v = min + rng.next() * (max - min);
      return type === "integer" ? Math.floor(v) : v;
    }
    case "boolean":
      return rng.chance(0.5);
    case "null":
      return null;
    case "array": {
      if (depth > 4) return [];
      const count = rng.int(4);
      return Array.from({ length: count }, () =>
        generate(rng, spec, schema.items, name, pools, p, depth + 1),
      );
    }
    default: {
      if (depth > 4) return {};
      const out: Record<string, unknown> = {};
      const required = new Set<string>(schema.required ?? []);
      for (const [key, sub] of Object.entries((schema.properties ?? {}) as Record<string, Json>))
        if (required.has(key) || rng.chance(0.6))
          out[key] = generate(rng, spec, sub, key, pools, p, depth + 1);
      if (!schema.properties || rng.chance(0.05))
        out[rng.pick(["extra", "toString", "constructor"])] = hostile(rng);
      if (rng.chance(0.03)) out[rng.pick(RAW_KEYS)] = 1;
      return out;
    }
  }
}

/** Credentials that are not: each must be refused with a 401 (or 403), never crash the check. */
const HOSTILE_CREDENTIALS: [string, string][] = [
  ["Authorization", "Bearer"],
  ["Authorization", "Bearer "],
  ["Authorization", "Basic YWRtaW46YWRtaW4="],
  ["Authorization", "Bearer a.b.c"],
  ["Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."],
  ["Authorization", `Bearer eyJ${"A".repeat(5000)}.e30.x`],
  ["Authorization", "Bearer wsn_"],
  ["Authorization", `Bearer wsn_${"x".repeat(43)}`],
  ["Authorization", `Bearer wse_${"\u00ff".repeat(3)}`],
  ["Authorization", `Bearer wsk_${"A".repeat(300)}`],
  ["X-API-Key", ""],
  ["X-API-Key", "wsk_"],
  ["X-API-Key", `wsk_${"0".repeat(60)}`],
  ["X-API-Key", "ÿþ"],
  ["Cookie", "wiresync_session=garbage; other=1"],
  ["Cookie", `wiresync_session=${"x".repeat(4000)}`],
];

/** Raw bodies no operation takes. */
const RAW_BODIES = [
  "",
  "{",
  "null",
  "[]",
  "42",
  '"text"',
  "{}",
  '{"a":"\\u0000"}',
  '{"a":"\\ud800"}',
  "\u0000",
  `{"a":${"[".repeat(5000)}${"]".repeat(5000)}}`,
  '{"__proto__":{"admin":true}}',
  '{"a":1,"a":2}',
  "\ufeff{}",
];
const WRONG_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "application/xml",
  "application/json; charset=utf-16",
  "application/merge-patch+json",
];

interface Operation {
  method: string;
  path: string;
  op: Json;
  key: string;
}

describe("the API under a seeded fuzz of every operation", () => {
  let t: TestPlatform;
  let counter: WriteCounter;
  let spec: Json;
  let pools: Pools;
  const seed = FUZZ_SEED ? Number(FUZZ_SEED) : randomInt(2 ** 31);

  beforeAll(async () => {
    console.log(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed})`);
    t = await createTestPlatform({
      // Webhook hosts resolve to a documentation address: no DNS query leaves the process.
      webhookResolver: async () => [{ address: "203.0.113.7", family: 4 }],
    });
    const net = await createNetwork(t, { cidr4: "10.200.0.0/16", cidr6: "fd00:200::/64" });
    const made = await createNode(t, net.id, { name: "seed-node" });
    pools = {
      networks: [net.id],
      nodes: [made.node.id],
      ids: [net.id, made.node.id],
      emails: ["someone@example.com"],
      hubKeys: [net.hubPublicKey],
      enrollmentKey: await createEnrollmentKey(t, net.id, { reusable: true }),
      nodeToken: { id: made.node.id, token: made.token },
      kept: new Set([net.id, made.node.id]),
    };
    spec = await json(await t.request("/openapi.json", { key: null }));
    counter = await installWriteCounter(t.db.url);
  });
  afterAll(async () => {
    await counter?.close();
    await t?.close();
  });

  const operations = (): Operation[] => {
    const ops: Operation[] = [];
    for (const [path, item] of Object.entries(spec.paths as Record<string, Json>)) {
      for (const method of METHODS) {
        const op = item[method];
        const key = `${method} ${path}`;
        // Server-sent event streams stay open by design; their inputs are checked elsewhere.
        if (
          op &&
          !path.endsWith("/stream") &&
          !op.responses?.["200"]?.content?.["text/event-stream"] &&
          !SKIPPED[key]
        )
          ops.push({ method, path, op, key });
      }
    }
    return ops;
  };

  /** One request for `o`: its URL, headers and body text. */
  function build(rng: Rng, o: Operation): { url: string; init: RequestInit } {
    const kind = rng.next();
    const p = kind < 0.35 ? 0.05 : 0.25; // how hostile the schema-built parts are
    const headers: Record<string, string> = { "X-API-Key": t.adminKey };
    let path = o.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      if (kind > 0.95) return encodePathPart(String(hostile(rng)));
      if (NO_REAL_ID.has(o.key)) return rng.uuid();
      // The seed network and node stay as they are: heartbeats need a node that still has its token.
      const usable = (ids: string[]) =>
        o.method === "delete" || o.method === "patch" ? ids.filter((id) => !pools.kept.has(id)) : ids;
      const pickFrom = (ids: string[]) => (usable(ids).length ? rng.pick(usable(ids)) : rng.uuid());
      if (o.path.includes("/networks/")) return pickFrom(pools.networks);
      if (o.path.includes("/nodes/") && rng.chance(0.9)) return pickFrom(pools.nodes);
      return rng.chance(0.8) ? pickFrom(pools.ids) : name === "type" ? "peers" : rng.uuid();
    });
    if (o.path.endsWith("/heartbeat") && rng.chance(0.7)) {
      path = `/api/v1/nodes/${pools.nodeToken.id}/heartbeat`;
      delete headers["X-API-Key"];
      headers.Authorization = `Bearer ${pools.nodeToken.token}`;
    }
    if (o.path === "/api/v1/nodes/register" && rng.chance(0.8)) {
      delete headers["X-API-Key"];
      headers.Authorization = `Bearer ${pools.enrollmentKey}`;
    }
    const query = new URLSearchParams();
    for (const param of (o.op.parameters ?? []) as Json[]) {
      if (param.in !== "query" || !rng.chance(0.6)) continue;
      if (NO_REAL_ID.has(o.key) && /id|network|node/i.test(param.name)) continue;
      const v = generate(rng, spec, param.schema, param.name, pools, p);
      query.append(param.name, typeof v === "string" ? v : toText(v).slice(0, 200));
      if (rng.chance(0.05)) query.append(param.name, String(hostile(rng)));
    }
    if (kind > 0.9) query.append(rng.pick(["api_key", "x", "limit", "__proto__"]), String(hostile(rng)));
    if (kind < 0.03) {
      // Hostile credentials instead of the admin key: malformed, forged or unknown ones.
      delete headers["X-API-Key"];
      const [name, value] = rng.pick(HOSTILE_CREDENTIALS);
      headers[name] = value;
    }
    const search = query.toString();
    const url = search ? `${path}?${search}` : path;

    const schema = o.op.requestBody?.content?.["application/json"]?.schema;
    let body: string | undefined;
    if (o.method === "get") body = undefined;
    else if (kind >= 0.75 && kind < 0.83) body = rng.pick(RAW_BODIES);
    else if (schema || rng.chance(0.1)) body = toText(generate(rng, spec, schema ?? {}, "body", pools, p));
    if (body !== undefined) {
      if (kind >= 0.83 && kind < 0.9) headers["Content-Type"] = rng.pick(WRONG_TYPES);
      else if (kind >= 0.9 && kind < 0.92) body = undefined;
      else headers["Content-Type"] = "application/json";
    }
    return {
      url,
      init: { method: o.method.toUpperCase(), headers, ...(body === undefined ? {} : { body }) },
    };
  }

  it("counts a committed write, and not one rolled back (the check below can fail)", async () => {
    const before = await counter.read();
    const res = await t.request("/api/admin/settings", {
      method: "POST",
      body: { key: "probe.k", value: 1 },
    });
    expect(res.status).toBe(200);
    const after = await counter.read();
    expect(after).not.toBe(before);
    expect(after).toMatch(/settings:\d+/);
    let updated = 0;
    const rolledBack = await t.platform.database.db
      .transaction(async (tx) => {
        const result = await tx.execute(sql`update settings set value = '2' where key = 'probe.k'`);
        updated = (result as unknown as { count: number }).count;
        throw new Error("roll back");
      })
      .catch((err: Error) => err.message);
    // The write happened inside the transaction, and the transaction ended by our rollback alone.
    expect(updated).toBe(1);
    expect(rolledBack).toBe("roll back");
    expect(await counter.read()).toBe(after);
  });

  it(`answers ${REQUESTS} hostile requests with no 5xx, and refusals change nothing`, {
    timeout: 180_000,
  }, async () => {
    const rng = prng(seed);
    const ops = operations();
    expect(ops.length).toBeGreaterThan(50);
    const weighted = ops.flatMap((o) => (EXPENSIVE.has(o.key) ? [o] : [o, o, o]));
    const failures: string[] = [];
    const statuses = new Map<string, Map<number, number>>();
    let writes = await counter.read();
    const started = performance.now();
    for (let i = 0; i < REQUESTS && failures.length < 20; i++) {
      const o = rng.pick(weighted);
      const { url, init } = build(rng, o);
      const res = await t.app.request(url, init);
      const text = await res.text();
      const after = await counter.read();
      const byStatus = statuses.get(o.key) ?? new Map<number, number>();
      byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
      statuses.set(o.key, byStatus);
      const bodyText = typeof init.body === "string" ? init.body : "";
      const what = () =>
        `#${i} (FUZZ_SEED=${seed}) ${init.method} ${url.slice(0, 160)} ${JSON.stringify((init.headers as Record<string, string>)["Content-Type"] ?? "")} ${bodyText.slice(0, 160)} → ${res.status} ${text.slice(0, 300)}`;
      if (res.status >= 500) failures.push(what());
      else if (res.status >= 400) {
        const type = res.headers.get("content-type") ?? "";
        let payload: Json;
        try {
          payload = JSON.parse(text);
        } catch {
          payload = undefined;
        }
        if (!type.includes("json") || payload?.success !== false || typeof payload?.code !== "string")
          failures.push(`not a problem body: ${what()}`);
        if (after !== writes && !mayRecord(o.key, res.status))
          failures.push(`refused, yet wrote rows (${writes} → ${after}): ${what()}`);
      } else if (res.status < 300 && isJson(res)) {
        try {
          harvest(pools, JSON.parse(text), o.path);
        } catch {
          // Not JSON after all: nothing to remember.
        }
      }
      writes = after;
    }
    const seconds = (performance.now() - started) / 1000;
    const summary = [...statuses.entries()]
      .map(([key, m]) => `${key}: ${[...m.entries()].map(([s, c]) => `${s}×${c}`).join(" ")}`)
      .join("\n");
    console.log(`fuzz seed ${seed}: ${REQUESTS} requests in ${seconds.toFixed(1)} s`);
    expect(failures, `answers by operation:\n${summary}`).toEqual([]);
    // Every operation was met, and most of them both accepted and refused something.
    expect(statuses.size).toBe(ops.length);
  });
});

/** Percent-encodes `text`; a lone surrogate (no UTF-8 form) goes as the bytes CESU-8 would give it. */
function encodePathPart(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, "?")).replaceAll("%3F", "%ED%A0%80");
  }
}

const isJson = (res: Response) => (res.headers.get("content-type") ?? "").includes("json");
