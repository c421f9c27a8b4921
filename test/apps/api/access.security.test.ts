/**
 * Every route says who may call it, in its own `createRoute`, with exactly one access level: the
 * guard that runs first for the route and the `x-access`/`security` of its OpenAPI operation come
 * from that one declaration. A route added without a level, or registered around `app.openapi`,
 * fails here, and so does a change of any route's level that this table does not make too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessLevel } from "../../../apps/api/middleware/access.js";
import { accessOf, guard } from "../../../apps/api/middleware/access.js";
import { createApiKey, createUser } from "../../support/auth.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { asToken, createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Operation = `${Method} /${string}`;

/** Who may call what. Adding a route means adding its line here, on purpose. */
const EXPECTED = {
  "GET /health": "public",
  "GET /health/live": "public",
  "GET /health/ready": "public",
  "GET /metrics": "metrics",
  "POST /api/auth/register": "admin",
  "POST /api/auth/login": "public",
  "POST /api/auth/session": "public",
  "DELETE /api/auth/session": "public",
  "GET /api/auth/me": "any",
  "POST /api/auth/sessions/revoke": "any",
  "POST /api/admin/api-keys": "admin",
  "GET /api/admin/api-keys": "admin",
  "DELETE /api/admin/api-keys/{id}": "admin",
  "GET /api/admin/users": "admin",
  "PATCH /api/admin/users/{id}": "admin",
  "POST /api/admin/users/{id}/password": "admin",
  "GET /api/admin/audit": "admin",
  "POST /api/v1/networks": "admin",
  "GET /api/v1/networks": "read",
  "GET /api/v1/networks/{id}": "read",
  "PATCH /api/v1/networks/{id}": "admin",
  "DELETE /api/v1/networks/{id}": "admin",
  "GET /api/v1/networks/{id}/drift": "read",
  "POST /api/v1/networks/{id}/drift/fix": "admin",
  "POST /api/v1/networks/{id}/adopt": "admin",
  "POST /api/v1/networks/{id}/rotate-hub-key": "admin",
  "POST /api/v1/networks/{id}/psk/rotate": "admin",
  "GET /api/v1/networks/{id}/hub-key-rotation": "admin",
  "GET /api/v1/networks/{id}/reachability": "read",
  "POST /api/v1/nodes/register": "enrollment",
  "POST /api/v1/nodes": "admin",
  "GET /api/v1/nodes": "read",
  "DELETE /api/v1/nodes": "admin",
  "GET /api/v1/nodes/{id}": "read",
  "PATCH /api/v1/nodes/{id}": "admin",
  "DELETE /api/v1/nodes/{id}": "admin",
  "GET /api/v1/nodes/{id}/config": "node-self-or-admin",
  "POST /api/v1/nodes/{id}/config/link": "admin",
  "POST /api/v1/nodes/{id}/rekey": "admin",
  "POST /api/v1/nodes/{id}/psk": "admin",
  "DELETE /api/v1/nodes/{id}/psk": "admin",
  "GET /api/v1/nodes/{id}/config/link": "public",
  "DELETE /api/v1/nodes/{id}/config/link": "admin",
  "GET /api/v1/nodes/{id}/config/stream": "node-self",
  "POST /api/v1/nodes/{id}/heartbeat": "node-self",
  "POST /api/v1/nodes/{id}/key": "node-self",
  "GET /api/v1/config": "read",
  "GET /api/v1/relay": "node",
  "POST /api/v1/enrollment-keys": "admin",
  "GET /api/v1/enrollment-keys": "read",
  "DELETE /api/v1/enrollment-keys/{id}": "admin",
  "GET /api/v1/usage": "read",
  "GET /api/v1/usage/series": "read",
  "GET /api/v1/networks/{id}/usage/top": "read",
  "GET /api/admin/settings": "admin",
  "POST /api/admin/settings": "admin",
  "GET /api/admin/sync/settings": "admin",
  "POST /api/admin/sync/settings": "admin",
  "POST /api/v1/sync/full": "admin",
  "GET /api/v1/sync/status/{id}": "read",
  "GET /api/v1/sync/logs": "read",
  "POST /api/v1/sync/cancel/{id}": "admin",
  "POST /api/v1/sync/{type}": "admin",
  "GET /api/admin/sync": "admin",
  "POST /api/admin/sync": "admin",
  "POST /api/admin/sync/cancel": "admin",
  "GET /api/admin/settings/webhooks": "admin",
  "POST /api/admin/settings/webhooks": "admin",
  "PATCH /api/admin/settings/webhooks": "admin",
  "DELETE /api/admin/settings/webhooks": "admin",
  "PUT /api/admin/settings/webhooks": "admin",
  "GET /api/admin/settings/webhooks/{id}/deliveries": "admin",
  "POST /api/admin/settings/webhooks/{id}/deliveries/{deliveryId}/replay": "admin",
  "POST /api/v1/webhook/dispatch": "admin",
  "POST /api/v1/email/queue": "admin",
  "GET /api/admin/emails": "admin",
  "GET /api/v1/events": "stream",
  "POST /api/v1/events/token": "any",
  "GET /ws": "stream",
  "GET /api/admin/emails/{id}": "admin",
  "POST /api/v1/routing/request": "node-or-admin",
  "GET /api/v1/turn/ice": "node-or-admin",
  "GET /api/stats": "public",
  "GET /api/v1/stats/overview": "read",
  "GET /api/admin/stats": "admin",
  "POST /api/v1/admin/reseal": "admin",
  "GET /api/v1/admin/reseal": "admin",
} as const satisfies Record<Operation, AccessLevel>;

/** Mounts that are no API route and keep their guards in their mount files (docs, board, dashboard). */
const NOT_ROUTES = [
  /^\/openapi\.json$/,
  /^\/docs(\/|$)/,
  /^\/redoc(\/|$)/,
  /^\/admin\/queues(\/|$)/,
  /^\/$/,
  /^\/assets\//,
];

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
const SOME_ID = "00000000-0000-4000-8000-000000000000";
const NEEDS_CREDENTIALS: readonly AccessLevel[] = [
  "any",
  "read",
  "admin",
  "node",
  "node-self",
  "node-self-or-admin",
  "node-or-admin",
  "stream",
];

describe("route access", () => {
  let t: TestPlatform;
  let spec: Json;
  let readKey: string;
  let userToken: string;
  let node: Json;
  let otherNode: Json;

  beforeAll(async () => {
    t = await createTestPlatform();
    spec = await json(await t.request("/openapi.json", { key: null }));
    readKey = (await createApiKey(t, ["read"])).key;
    await createUser(t, "admin@example.test");
    userToken = (await createUser(t, "user@example.test", { role: "user" })).token;
    const net = await createNetwork(t, { topology: "mesh" });
    node = await createNode(t, net.id, { name: "self" });
    otherNode = await createNode(t, net.id, { name: "other" });
  });
  afterAll(async () => {
    await t.close();
  });

  /** `METHOD /path` → its operation in the OpenAPI document. */
  const operations = (): Map<string, Json> => {
    const ops = new Map<string, Json>();
    for (const [path, item] of Object.entries(spec.paths as Record<string, Json>))
      for (const method of METHODS)
        if (item[method]) ops.set(`${method.toUpperCase()} ${path}`, item[method]);
    return ops;
  };
  const entries = Object.entries(EXPECTED) as [Operation, AccessLevel][];
  const split = (op: string) => {
    const [method, path] = op.split(" ") as [Method, string];
    return { method, path };
  };
  /** A concrete URL for a path template; guards answer before the path is validated. */
  const urlOf = (path: string, id = SOME_ID) =>
    path.replace("{id}", id).replace("{deliveryId}", SOME_ID).replace("{type}", "nodes");

  it("documents exactly one access level per operation, with the security of that level", () => {
    const ops = operations();
    for (const [key, op] of ops) {
      expect(typeof op["x-access"], key).toBe("string");
      expect(op.security, key).toEqual(guard(op["x-access"] as AccessLevel).security);
    }
  });

  it("documents the access this table expects, route by route", () => {
    const documented = Object.fromEntries([...operations()].map(([key, op]) => [key, op["x-access"]]));
    expect(documented).toEqual(EXPECTED);
  });

  it("runs each route's own guard first, at the level it documents, and serves no route without one", () => {
    // Hono lists every handler of a route in order; global middleware is listed as ALL.
    const first = new Map<string, unknown>();
    for (const r of t.app.routes) {
      if (r.method === "ALL" || NOT_ROUTES.some((re) => re.test(r.path))) continue;
      const key = `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`;
      if (!first.has(key)) first.set(key, r.handler);
    }
    const enforced = Object.fromEntries([...first].map(([key, handler]) => [key, accessOf(handler)]));
    expect(enforced).toEqual(EXPECTED);
  });

  it("refuses a caller without credentials on every route that needs them (401), and only there", async () => {
    for (const [op, level] of entries) {
      const { method, path } = split(op);
      const res = await t.request(urlOf(path), { method, key: null });
      const body = await res.text();
      if (NEEDS_CREDENTIALS.includes(level)) {
        expect(res.status, `${op}: ${body}`).toBe(401);
        expect(JSON.parse(body).code, op).toBe("UNAUTHENTICATED");
      } else {
        // Past the guard: the route answers (200), or its input check does (400: no body sent).
        expect([200, 400], `${op}: ${body}`).toContain(res.status);
      }
    }
  });

  it("refuses a read key on every route beyond reading (403) and lets it read", async () => {
    for (const [op, level] of entries) {
      // `any` routes are for users' own matters (see below); a key's refusal there is the service's.
      // `stream` routes judge rooms, not methods (test/apps/api/events/stream-events.security.test.ts).
      if (level === "public" || level === "metrics" || level === "any" || level === "stream") continue;
      const { method, path } = split(op);
      const res = await t.request(urlOf(path), { method, key: readKey });
      const body = await res.text();
      if (level === "read") {
        expect([401, 403], `${op}: ${body}`).not.toContain(res.status);
        expect(res.status, `${op}: ${body}`).toBeLessThan(500);
      } else {
        expect(res.status, `${op}: ${body}`).toBe(403);
        expect(JSON.parse(body).code, op).toBe("FORBIDDEN");
      }
    }
  });

  it("lets a node token reach only its own node's routes: 403 elsewhere, 404 for another node's", async () => {
    for (const [op, level] of entries) {
      // A node token may stream its own network's room (stream-events.security.test.ts): no answer ends.
      if (level === "public" || level === "metrics" || level === "enrollment" || level === "stream") continue;
      const { method, path } = split(op);
      const nodeRoute = level === "node-self" || level === "node-self-or-admin";
      const res = await t.request(urlOf(path, otherNode.node.id), { method, ...asToken(node.token) });
      const body = await res.text();
      if (level === "node-or-admin") {
        // Any node's token passes the guard; the route itself keeps a node to its own matters.
        expect([401, 403], `${op}: ${body}`).not.toContain(res.status);
        expect(res.status, `${op}: ${body}`).toBeLessThan(500);
        continue;
      }
      if (level === "node") {
        // Any node's own: past the guard, the relay wants a WebSocket upgrade.
        expect(res.status, `${op}: ${body}`).toBe(426);
        continue;
      }
      expect(res.status, `${op}: ${body}`).toBe(nodeRoute ? 404 : 403);
      expect(JSON.parse(body).code, op).toBe(nodeRoute ? "NODE_NOT_FOUND" : "FORBIDDEN");
    }
    const own = await t.request(`/api/v1/nodes/${node.node.id}/heartbeat`, {
      method: "POST",
      body: {},
      ...asToken(node.token),
    });
    expect(own.status, await own.text()).toBe(200);
  });

  it("lets any signed-in user reach the `any` routes, and no further", async () => {
    const init = asToken(userToken);
    expect((await t.request("/api/auth/me", init)).status).toBe(200);
    expect((await t.request("/api/v1/nodes", init)).status).toBe(200);
    expect((await t.request("/api/admin/audit", init)).status).toBe(403);
    expect((await t.request("/api/auth/sessions/revoke", { method: "POST", ...init })).status).toBe(200);
  });
});
