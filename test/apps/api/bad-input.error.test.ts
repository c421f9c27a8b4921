/**
 * Every operation of the OpenAPI document, fed malformed input: bad path parameters, bad query
 * values, bodies that are not JSON, are the wrong JSON type, or hold fields of the wrong type or size.
 * Each must answer with a 4xx JSON error (or succeed, where the input happens to be acceptable), and
 * never with a 5xx: a 5xx on bad input is a bug.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { asToken, createEnrollmentKey, createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { snapshotTables } from "../../support/snapshot.js";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Path parameter values that no route should take for an id. */
const BAD_PATH_VALUES = [
  "not-an-id",
  "00000000-0000-0000-0000-000000000000",
  "%E0%A4%A",
  "-1",
  "1e999",
  "x".repeat(3000),
];

/** Query values of every wrong shape. */
const BAD_QUERY_VALUES = ["-1", "abc", "9".repeat(400), "", "%00", "1.5", "true", "[object Object]"];

/** Bodies that are not what any operation takes, sent as JSON. */
const BAD_RAW_BODIES = ["{", "[]", "null", "42", '"text"', "{}", '{"__proto__":{"admin":true}}'];

/** A value of each wrong type for a property declared with `schema`. */
function wrongValues(schema: Json): unknown[] {
  const type = schema?.type;
  const out: unknown[] = [null, { nested: { deeper: [1, 2, 3] } }, "x".repeat(100_000)];
  if (type !== "string") out.push("not-a-number-or-bool");
  if (type !== "number" && type !== "integer") out.push(-12345.678);
  if (type !== "boolean") out.push(true);
  if (type !== "array") out.push(["a", 1, null]);
  else out.push(Array.from({ length: 5000 }, (_, i) => `item-${i}`));
  return out;
}

/** Strings and numbers that have broken parsers elsewhere. */
const NASTY_VALUES: unknown[] = [
  "",
  " ",
  "\u0000",
  "a\nb",
  "../../etc/passwd",
  "%s%n%x",
  "😀".repeat(50),
  "<script>alert(1)</script>",
  "1e999",
  "NaN",
  "10.0.0.0/33",
  "::/129",
  "999.999.999.999",
  "[::1]:99999",
  0,
  -1,
  1.5,
  1e308,
  2 ** 31,
  Number.MAX_SAFE_INTEGER * 4,
];

describe("malformed input, on every operation", () => {
  let t: TestPlatform;
  let spec: Json;
  beforeAll(async () => {
    t = await createTestPlatform();
    // Something to address, so that routes reach past "not found" where an input is half right.
    const net = await createNetwork(t);
    await createNode(t, net.id, { name: "present" });
    spec = await json(await t.request("/openapi.json", { key: null }));
  });
  afterAll(async () => {
    await t.close();
  });

  /** Every operation but the server-sent event streams (58 of them at the time of writing). */
  const operations = () => {
    const ops: { method: string; path: string; op: Json }[] = [];
    for (const [path, item] of Object.entries(spec.paths as Record<string, Json>)) {
      for (const method of METHODS) {
        const op = item[method];
        // Server-sent event streams stay open by design; their inputs are checked elsewhere.
        if (op && !path.endsWith("/stream") && !op.responses?.["200"]?.content?.["text/event-stream"])
          ops.push({ method, path, op });
      }
    }
    return ops;
  };

  const send = async (
    failures: string[],
    method: string,
    url: string,
    body?: string,
    contentType = "application/json",
  ) => {
    const res = await t.request(url, {
      method: method.toUpperCase(),
      ...(body === undefined ? {} : { body, headers: { "Content-Type": contentType } }),
    });
    const what = `${method.toUpperCase()} ${url.slice(0, 120)}${body === undefined ? "" : ` ${body.slice(0, 80)}`}`;
    if (res.status >= 500) {
      failures.push(`${what} → ${res.status} ${(await res.text()).slice(0, 200)}`);
      return;
    }
    if (res.status >= 400) {
      const type = res.headers.get("content-type") ?? "";
      if (!type.includes("json")) {
        failures.push(`${what} → ${res.status} with ${type || "no content type"}`);
        return;
      }
      const payload = await json(res);
      if (payload.success !== false || typeof payload.error?.code !== "string")
        failures.push(`${what} → ${res.status} without an error envelope`);
    } else {
      await res.arrayBuffer();
    }
  };

  it("answers bad path parameters with a 4xx, never a 5xx", async () => {
    const failures: string[] = [];
    for (const { method, path } of operations()) {
      if (!path.includes("{")) continue;
      for (const value of BAD_PATH_VALUES) {
        const url = path.replace(/\{[^}]+\}/g, value);
        const hasBody = method !== "get" && method !== "delete";
        await send(failures, method, url, hasBody ? "{}" : undefined);
      }
    }
    expect(failures).toEqual([]);
  });

  it("covers the whole API", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(50);
    expect(ops.filter((o) => o.op.requestBody).length).toBeGreaterThan(15);
  });

  // Hundreds of requests, one after another: a minute or more on a busy machine.
  it("answers a valid body with one field made wrong with a 4xx, never a 5xx", {
    timeout: 180_000,
  }, async () => {
    const net = await createNetwork(t);
    const node = await createNode(t, net.id, { name: "target" });
    let n = 0;
    const unique = () => `fuzz-${++n}`;
    // A body each operation accepts, so that one wrong field is what it meets past the first checks.
    const seeds: Record<string, () => Record<string, unknown>> = {
      "post /api/v1/networks": () => ({ name: unique(), cidr4: `10.251.${n % 250}.0/24` }),
      [`patch /api/v1/networks/${net.id}`]: () => ({ name: unique() }),
      "post /api/v1/nodes": () => ({ networkId: net.id, name: unique() }),
      [`patch /api/v1/nodes/${node.node.id}`]: () => ({ name: unique() }),
      "post /api/v1/enrollment-keys": () => ({ networkId: net.id }),
      "post /api/admin/api-keys": () => ({ name: unique() }),
      "post /api/admin/sync/settings": () => ({ autoSyncEnabled: false }),
      "post /api/v1/sync/full": () => ({ requested_by: "fuzz" }),
      "post /api/v1/webhook/dispatch": () => ({ event: "fuzz.test", data: {} }),
      "post /api/auth/login": () => ({ email: "nobody@example.com", password: "not the password" }),
      "post /api/auth/register": () => ({
        email: `${unique()}@example.com`,
        password: "correct horse battery",
      }),
    };
    const failures: string[] = [];
    for (const [key, seed] of Object.entries(seeds)) {
      const [method, url] = key.split(" ") as [string, string];
      const path = Object.keys(spec.paths).find((p) =>
        new RegExp(`^${p.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(url),
      );
      const op = path ? spec.paths[path][method] : undefined;
      expect(op, `${key} is in the OpenAPI document`).toBeDefined();
      let schema = op.requestBody?.content?.["application/json"]?.schema;
      if (schema?.$ref) schema = spec.components.schemas[String(schema.$ref).split("/").pop()!];
      // The seed itself is accepted (a login with a wrong password is refused, as it should be).
      const accepted = await t.request(url, { method: method.toUpperCase(), body: seed() });
      const why = `${key}: ${await accepted.text()}`;
      if (key.endsWith("/login")) expect(accepted.status, why).toBe(401);
      else expect(accepted.status, why).toBeLessThan(300);
      for (const [name, property] of Object.entries((schema?.properties ?? {}) as Record<string, Json>)) {
        for (const value of [...wrongValues(property), ...NASTY_VALUES]) {
          await send(failures, method, url, JSON.stringify({ ...seed(), [name]: value }));
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers bad query values with a 4xx, never a 5xx", async () => {
    const failures: string[] = [];
    for (const { method, path, op } of operations()) {
      const params = ((op.parameters ?? []) as Json[]).filter((p) => p.in === "query");
      const concrete = path.replace(/\{[^}]+\}/g, "00000000-0000-0000-0000-000000000000");
      for (const param of params) {
        for (const value of BAD_QUERY_VALUES) {
          const url = `${concrete}?${encodeURIComponent(param.name)}=${encodeURIComponent(value)}`;
          await send(failures, method, url);
        }
        // The same parameter twice.
        await send(failures, method, `${concrete}?${param.name}=1&${param.name}=2`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers bodies that are not JSON, or not the JSON asked for, with a 4xx, never a 5xx", async () => {
    const failures: string[] = [];
    for (const { method, path, op } of operations()) {
      const schema = op.requestBody?.content?.["application/json"]?.schema;
      if (!schema) continue;
      const url = path.replace(/\{[^}]+\}/g, "00000000-0000-0000-0000-000000000000");
      for (const raw of BAD_RAW_BODIES) await send(failures, method, url, raw);
      await send(failures, method, url, '{"name":"x"}', "text/plain");
      // Each declared property, set to each wrong type in turn (resolving a $ref one level deep).
      const resolved = schema.$ref ? spec.components.schemas[String(schema.$ref).split("/").pop()!] : schema;
      for (const [name, property] of Object.entries((resolved?.properties ?? {}) as Record<string, Json>)) {
        for (const value of wrongValues(property)) {
          await send(failures, method, url, JSON.stringify({ [name]: value }));
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

/**
 * Hostile input that reached Postgres or a prototype lookup and answered 500, and input that was
 * accepted though it cannot work. Each is refused with 400 (409 for a conflict) and a problem code,
 * and leaves every table as it was.
 */
describe("hostile input, refused with a 4xx that changes nothing", () => {
  let t: TestPlatform;
  let net: Json;
  let node: Json;
  let enrollmentKey: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    net = await createNetwork(t, { cidr4: "10.90.0.0/24", cidr6: "fd00:90::/64" });
    node = (await createNode(t, net.id, { name: "present", email: "present@example.com" })).node;
    enrollmentKey = await createEnrollmentKey(t, net.id, { reusable: true });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Sends the request and checks the answer and that no table changed. */
  async function expectRefused(
    init: {
      method: string;
      path: string;
      body?: unknown;
      key?: string | null;
      headers?: Record<string, string>;
    },
    status: number,
    code: string,
    detail?: RegExp,
  ): Promise<Json> {
    const before = await snapshotTables(t.db.url);
    const { path, ...rest } = init;
    const res = await t.request(path, rest);
    const payload = await json(res);
    const what = `${init.method} ${path} → ${res.status} ${JSON.stringify(payload).slice(0, 300)}`;
    expect(res.status, what).toBe(status);
    expect(res.headers.get("content-type"), what).toBe("application/problem+json");
    expect(payload.success, what).toBe(false);
    expect(payload.code, what).toBe(code);
    expect(payload.error.code, what).toBe(code);
    if (detail) expect(payload.detail, what).toMatch(detail);
    expect(await snapshotTables(t.db.url), what).toEqual(before);
    return payload;
  }

  const deepArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it.each([
    ["a NUL in the node search", "GET", "/api/v1/nodes?q=a%00b", /query q: .*NUL/],
    ["a NUL in the node email filter", "GET", "/api/v1/nodes?email=a%00b", /query email: .*NUL/],
    ["a NUL in a bulk delete by email", "DELETE", "/api/v1/nodes?email=present%00@example.com", /NUL/],
    ["a NUL in an audit filter", "GET", "/api/admin/audit?entityType=a%00b", /query entityType: .*NUL/],
    ["a NUL in a query parameter's name", "GET", "/api/v1/nodes?a%00b=1", /NUL/],
    ["a NUL in the path", "GET", "/api/v1/sync/status/a%00b", /path: .*NUL/],
  ])("refuses %s with 400", async (_what, method, path, detail) => {
    await expectRefused({ method, path }, 400, "VALIDATION_FAILED", detail);
  });

  it("refuses a NUL in a credential in the query before looking it up", async () => {
    await expectRefused(
      { method: "GET", path: "/api/v1/nodes?api_key=wsk_abc%00def", key: null },
      400,
      "VALIDATION_FAILED",
      /query api_key: .*NUL/,
    );
  });

  it.each([
    [
      "a NUL in a webhook event's data (jsonb)",
      "/api/v1/webhook/dispatch",
      '{"event":"x.y","data":{"a":"a\\u0000b"}}',
      /data\.a: .*NUL/,
    ],
    [
      "a NUL in a key of a webhook event's data",
      "/api/v1/webhook/dispatch",
      '{"event":"x.y","data":{"a\\u0000":1}}',
      /data: .*key.*NUL/,
    ],
    [
      "a lone high surrogate in a webhook event's data",
      "/api/v1/webhook/dispatch",
      '{"event":"x.y","data":{"a":"\\ud800"}}',
      /data\.a: .*surrogate/,
    ],
    [
      "a lone low surrogate in a webhook event's data",
      "/api/v1/webhook/dispatch",
      '{"event":"x.y","data":{"a":"x\\udc00y"}}',
      /surrogate/,
    ],
    [
      "arrays nested 5,000 deep in a webhook event",
      "/api/v1/webhook/dispatch",
      `{"event":"x.y","data":{"a":${deepArray(5000)}}}`,
      /deeper than 64/,
    ],
    [
      "objects nested 4,500 deep in a webhook event",
      "/api/v1/webhook/dispatch",
      `{"event":"x.y","data":${deepObject(4500)}}`,
      /deeper than 64/,
    ],
    [
      "a NUL in a setting's value",
      "/api/admin/settings",
      '{"key":"x.nul","value":{"a":"\\u0000"}}',
      /value\.a: .*NUL/,
    ],
    [
      "a lone surrogate in a setting's value",
      "/api/admin/settings",
      '{"key":"x.sur","value":"\\udbff"}',
      /value: .*surrogate/,
    ],
    [
      "a setting's value nested 5,000 deep",
      "/api/admin/settings",
      `{"key":"x.deep","value":${deepArray(5000)}}`,
      /deeper than 64/,
    ],
    [
      "a __proto__ key",
      "/api/admin/settings",
      '{"key":"x.proto","value":{"__proto__":{"admin":true}}}',
      /value\.__proto__/,
    ],
    [
      "a lone surrogate in a text column",
      "/api/v1/enrollment-keys",
      `{"networkId":"NET","description":"a\\ud800"}`,
      /description: .*surrogate/,
    ],
    [
      "a NUL in an email subject",
      "/api/v1/email/queue",
      '{"to":"a@example.com","subject":"a\\u0000b","text":"x"}',
      /subject: .*NUL/,
    ],
    ["a body that is not JSON", "/api/admin/settings", '{"key":', /body: is not valid JSON/],
  ])("refuses %s with 400", async (_what, path, raw, detail) => {
    await expectRefused(
      { method: "POST", path, body: raw.replace("NET", net.id) },
      400,
      "VALIDATION_FAILED",
      detail,
    );
  });

  it.each(["toString", "constructor", "valueOf", "hasOwnProperty", "__proto__"])(
    "refuses the setting key %s with 400",
    async (key) => {
      await expectRefused(
        { method: "POST", path: "/api/admin/settings", body: { key, value: "x" } },
        400,
        "VALIDATION_FAILED",
        /^key: /,
      );
    },
  );

  /** The small-order points of Curve25519 (libsodium's list), little-endian, and p and p + 1. */
  const SMALL_ORDER_HEX = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ];
  /** Each also with bit 255 set, which X25519 ignores. */
  const WEAK_KEYS = SMALL_ORDER_HEX.flatMap((hex) => {
    const bytes = Buffer.from(hex, "hex");
    const high = Buffer.from(bytes);
    high[31] = high[31]! | 0x80;
    return [bytes.toString("base64"), high.toString("base64")];
  });

  it("has 14 distinct weak keys to try, each a well-formed key", () => {
    expect(new Set(WEAK_KEYS).size).toBe(14);
    for (const key of WEAK_KEYS) expect(key).toMatch(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/);
  });

  it.each(WEAK_KEYS)("refuses the weak public key %s on enrollment, update and registration", async (key) => {
    const small = /small order/;
    await expectRefused(
      { method: "POST", path: "/api/v1/nodes", body: { networkId: net.id, name: "weak", publicKey: key } },
      400,
      "VALIDATION_FAILED",
      small,
    );
    await expectRefused(
      { method: "PATCH", path: `/api/v1/nodes/${node.id}`, body: { publicKey: key } },
      400,
      "VALIDATION_FAILED",
      small,
    );
    await expectRefused(
      {
        method: "POST",
        path: "/api/v1/nodes/register",
        body: { publicKey: key },
        ...asToken(enrollmentKey),
      },
      400,
      "VALIDATION_FAILED",
      small,
    );
  });

  it("refuses the hub's own key on PATCH of a node, as on enrollment", async () => {
    await expectRefused(
      {
        method: "POST",
        path: "/api/v1/nodes",
        body: { networkId: net.id, name: "hubkey", publicKey: net.hubPublicKey },
      },
      409,
      "PUBLIC_KEY_TAKEN",
      /hub's own/,
    );
    await expectRefused(
      { method: "PATCH", path: `/api/v1/nodes/${node.id}`, body: { publicKey: net.hubPublicKey } },
      409,
      "PUBLIC_KEY_TAKEN",
      /hub's own/,
    );
  });

  it.each([
    ["loopback", { cidr4: "127.0.0.0/24" }, /127\.0\.0\.0\/8, the loopback range/],
    ["unspecified", { cidr4: "0.0.0.0/24" }, /0\.0\.0\.0\/8, the unspecified/],
    ["everything", { cidr4: "0.0.0.0/0" }, /overlaps/],
    ["link-local", { cidr4: "169.254.10.0/24" }, /link-local/],
    ["multicast", { cidr4: "239.1.0.0/24" }, /multicast/],
    ["a /32", { cidr4: "10.91.0.7/32" }, /no room for the hub and one node/],
    ["IPv6 loopback", { cidr4: "10.92.0.0/24", cidr6: "::1/128" }, /loopback/],
    ["IPv6 unspecified", { cidr4: "10.92.0.0/24", cidr6: "::/64" }, /unspecified/],
    ["IPv6 link-local", { cidr4: "10.92.0.0/24", cidr6: "fe80::/64" }, /link-local/],
    ["IPv6 multicast", { cidr4: "10.92.0.0/24", cidr6: "ff02::/64" }, /multicast/],
    ["IPv4-mapped IPv6", { cidr4: "10.92.0.0/24", cidr6: "::ffff:10.0.0.0/120" }, /IPv4-mapped/],
    ["an IPv6 /127", { cidr4: "10.92.0.0/24", cidr6: "fd00:92::/127" }, /no room/],
    ["an IPv6 /128", { cidr4: "10.92.0.0/24", cidr6: "fd00:92::1/128" }, /no room/],
    ["host bits set (refused, not widened)", { cidr4: "10.93.0.5/24" }, /did you mean 10\.93\.0\.0\/24/],
  ])("refuses a network range that cannot work: %s", async (_what, body, detail) => {
    await expectRefused(
      { method: "POST", path: "/api/v1/networks", body: { name: "bad-range", ...body } },
      400,
      "VALIDATION_FAILED",
      detail,
    );
  });

  it("stores ranges in canonical form, and takes a /31 (hub and one node, RFC 3021)", async () => {
    const made = await createNetwork(t, { cidr4: "10.94.0.0/024", cidr6: "FD00:94:0:0::/064" });
    expect(made.cidr4).toBe("10.94.0.0/24");
    expect(made.cidr6).toBe("fd00:94::/64");
    const p2p = await createNetwork(t, { cidr4: "10.95.0.0/31" });
    expect(p2p.hubIp4).toBe("10.95.0.0");
    const only = await createNode(t, p2p.id, { name: "the-one" });
    expect(only.node.ip4).toBe("10.95.0.1");
  });

  it("refuses a listen port another network has with 409, and picks a free one when none is given", async () => {
    expect(net.listenPort).toBe(51820);
    await expectRefused(
      {
        method: "POST",
        path: "/api/v1/networks",
        body: { name: "same-port", cidr4: "10.96.0.0/24", listenPort: 51820 },
      },
      409,
      "LISTEN_PORT_TAKEN",
      /port 51820/,
    );
    const other = await createNetwork(t, { cidr4: "10.97.0.0/24" });
    expect(other.listenPort).not.toBe(51820);
    await expectRefused(
      { method: "PATCH", path: `/api/v1/networks/${other.id}`, body: { listenPort: 51820 } },
      409,
      "LISTEN_PORT_TAKEN",
      /port 51820/,
    );
    // Its own port again is no conflict.
    const same = await t.request(`/api/v1/networks/${other.id}`, {
      method: "PATCH",
      body: { listenPort: other.listenPort },
    });
    expect(same.status).toBe(200);
  });

  it.each([
    ["in the past", "2001-01-01T00:00:00Z", /must be in the future/],
    ["a number", 0, /ISO 8601/],
    ["true", true, /ISO 8601/],
    ["free text", "tomorrow", /ISO 8601/],
    ["a timestamp without a zone", "2099-01-01T00:00:00", /ISO 8601/],
  ])("refuses an API key expiry %s", async (_what, expiresAt, detail) => {
    await expectRefused(
      { method: "POST", path: "/api/admin/api-keys", body: { name: "expiring", expiresAt } },
      400,
      "VALIDATION_FAILED",
      detail,
    );
  });

  it("takes an API key expiry in the future", async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await t.request("/api/admin/api-keys", {
      method: "POST",
      body: { name: "later", expiresAt },
    });
    expect(res.status).toBe(201);
    expect((await json(res)).data.expiresAt).toBe(expiresAt);
  });
});
