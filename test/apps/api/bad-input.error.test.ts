/**
 * Every operation of the OpenAPI document, fed malformed input: bad path parameters, bad query
 * values, bodies that are not JSON, are the wrong JSON type, or hold fields of the wrong type or size.
 * Each must answer with a 4xx JSON error (or succeed, where the input happens to be acceptable), and
 * never with a 5xx: a 5xx on bad input is a bug.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

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
        if (op && !path.endsWith("/stream")) ops.push({ method, path, op });
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

  it("answers a valid body with one field made wrong with a 4xx, never a 5xx", async () => {
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
