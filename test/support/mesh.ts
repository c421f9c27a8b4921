/** Helpers for mesh tests: create networks and nodes through the real API. */
import { asc, eq } from "drizzle-orm";
import { expect } from "vitest";
import type { Db } from "../../src/db/index.js";
import { events, nodes } from "../../src/db/index.js";
import { bigIntToIp, generateKeyPair, ipToBigInt } from "../../src/mesh/index.js";
import { bearer } from "./auth.js";
import type { Json } from "./http.js";
import { json } from "./http.js";
import type { TestPlatform } from "./platform.js";

let counter = 0;

/** Creates a network through the API (a fresh name and /24 unless given) and returns its view. */
export async function createNetwork(t: TestPlatform, body: Record<string, unknown> = {}): Promise<Json> {
  counter++;
  const res = await t.request("/api/v1/networks", {
    method: "POST",
    body: { name: `net-${counter}`, cidr4: `10.${100 + (counter % 100)}.${counter % 250}.0/24`, ...body },
  });
  const payload = await json(res);
  expect(res.status, JSON.stringify(payload)).toBe(201);
  return payload.data;
}

/** Enrolls a node through the API and returns `{ node, token, config? }`. */
export async function createNode(
  t: TestPlatform,
  networkId: string,
  body: Record<string, unknown> = {},
): Promise<Json> {
  counter++;
  const res = await t.request("/api/v1/nodes", {
    method: "POST",
    body: { networkId, name: `node-${counter}`, ...body },
  });
  const payload = await json(res);
  expect(res.status, JSON.stringify(payload)).toBe(201);
  return payload.data;
}

/**
 * Inserts `count` nodes into a network straight into the table (real key pairs, consecutive addresses
 * from `firstIp`), for tests and benchmarks that need thousands of peers quickly. Returns their keys.
 */
export async function insertNodes(
  db: Db,
  networkId: string,
  count: number,
  firstIp: string,
): Promise<string[]> {
  const base = ipToBigInt(firstIp).value;
  const keys: string[] = [];
  const BATCH = 1_000;
  for (let start = 0; start < count; start += BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const { publicKey } = generateKeyPair();
      keys.push(publicKey);
      rows.push({ networkId, name: `bulk-${i}`, publicKey, ip4: bigIntToIp(base + BigInt(i), 4) });
    }
    await db.insert(nodes).values(rows);
  }
  return keys;
}

/** Request options that authenticate only with a node token (`wsn_`) or an enrollment key (`wse_`). */
export const asToken = (token: string) => ({ key: null, headers: bearer(token) });

/** Creates an enrollment key through the API and returns the key (shown once). */
export async function createEnrollmentKey(
  t: TestPlatform,
  networkId: string,
  body: Record<string, unknown> = {},
): Promise<string> {
  const res = await t.request("/api/v1/enrollment-keys", { method: "POST", body: { networkId, ...body } });
  const payload = await json(res);
  expect(res.status, JSON.stringify(payload)).toBe(201);
  return payload.data.key;
}

/**
 * Registers a node with an enrollment key through the API and returns `{ node, token }`; a
 * re-registration (`nodeId`) proves it is the node with `nodeToken` (sent as X-Node-Token).
 */
export async function registerNode(
  t: TestPlatform,
  key: string,
  body: Record<string, unknown>,
  nodeToken?: string,
): Promise<Json> {
  const headers = { ...bearer(key), ...(nodeToken ? { "X-Node-Token": nodeToken } : {}) };
  const res = await t.request("/api/v1/nodes/register", { method: "POST", key: null, headers, body });
  const payload = await json(res);
  expect(res.status, JSON.stringify(payload)).toBe(201);
  return payload.data;
}

/** Sends a heartbeat with the node's own token and returns the answer's data. */
export async function heartbeat(
  t: TestPlatform,
  nodeId: string,
  token: string,
  body: Record<string, unknown> = {},
): Promise<Json> {
  const res = await t.request(`/api/v1/nodes/${nodeId}/heartbeat`, {
    method: "POST",
    ...asToken(token),
    body,
  });
  const payload = await json(res);
  expect(res.status, JSON.stringify(payload)).toBe(200);
  return payload.data;
}

/** Outbox rows, oldest first, optionally of one type. */
export async function outboxEvents(t: TestPlatform, type?: string) {
  const rows = await t.platform.database.db
    .select()
    .from(events)
    .where(type ? eq(events.type, type) : undefined)
    .orderBy(asc(events.createdAt));
  return rows;
}

/** Outbox rows about one node (`data.node.id`), oldest first. */
export async function eventsOfNode(t: TestPlatform, nodeId: string) {
  return (await outboxEvents(t)).filter((e) => (e.data.node as { id?: string } | undefined)?.id === nodeId);
}
