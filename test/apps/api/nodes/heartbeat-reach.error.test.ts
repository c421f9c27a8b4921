/** Heartbeats with bad candidates, handshakes or config versions: 400 with a problem body naming the field, and nothing changes. */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeReachability, nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("heartbeats with bad candidates or handshakes", () => {
  let t: TestPlatform;
  let a: Json;
  let b: Json;
  beforeAll(async () => {
    t = await createTestPlatform();
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.84.0.0/24" });
    a = await createNode(t, net.id, { name: "a" });
    b = await createNode(t, net.id, { name: "b" });
  });
  afterAll(async () => {
    await t.close();
  });

  const addresses = (n: number) => Array.from({ length: n }, (_, i) => `192.168.1.${i + 1}/24`);
  // A valid handshake goes first in every body: a bad one after it must spoil the whole heartbeat.
  const PEER_KEY = generateKeyPair().publicKey;
  const handshake = (over: Record<string, unknown> = {}) => ({ publicKey: PEER_KEY, ageSeconds: 5, ...over });

  it.each<[string, Record<string, unknown>, string]>([
    ["a listen port of 0", { candidates: { listenPort: 0, addresses: [] } }, "candidates.listenPort"],
    ["a listen port of 65536", { candidates: { listenPort: 65536, addresses: [] } }, "candidates.listenPort"],
    [
      "a fractional listen port",
      { candidates: { listenPort: 51820.5, addresses: [] } },
      "candidates.listenPort",
    ],
    ["candidates without a listen port", { candidates: { addresses: [] } }, "candidates.listenPort"],
    [
      "an address that is no IP",
      { candidates: { listenPort: 1, addresses: ["999.1.1.1/24"] } },
      "candidates.addresses.0",
    ],
    [
      "a prefix too long",
      { candidates: { listenPort: 1, addresses: ["10.0.0.1/33"] } },
      "candidates.addresses.0",
    ],
    [
      "a hostname for an address",
      { candidates: { listenPort: 1, addresses: ["host.example.com"] } },
      "candidates.addresses.0",
    ],
    ["33 addresses", { candidates: { listenPort: 1, addresses: addresses(33) } }, "candidates.addresses"],
    [
      "an unknown candidates field",
      { candidates: { listenPort: 1, addresses: [], nat: "full" } },
      "candidates",
    ],
    [
      "a handshake with a bad key",
      { handshakes: [handshake({ publicKey: "nope" })] },
      "handshakes.1.publicKey",
    ],
    ["a negative handshake age", { handshakes: [handshake({ ageSeconds: -1 })] }, "handshakes.1.ageSeconds"],
    [
      "a handshake age in milliseconds' range",
      { handshakes: [handshake({ ageSeconds: 1e12 })] },
      "handshakes.1.ageSeconds",
    ],
    ["4,097 handshakes", { handshakes: Array.from({ length: 4097 }, () => handshake()) }, "handshakes"],
    // Past a Postgres integer: found by the API fuzz as a 500 (numeric value out of range).
    ["a config version of 2^31", { configVersion: 2 ** 31 }, "configVersion"],
    ["a negative config version", { configVersion: -1 }, "configVersion"],
  ])("400 for %s, and nothing changes", async (_name, body, path) => {
    const [before] = await t.platform.database.db.select().from(nodes).where(eq(nodes.id, a.node.id));
    const res = await t.request(`/api/v1/nodes/${a.node.id}/heartbeat`, {
      method: "POST",
      ...asToken(a.token),
      body: {
        ...body,
        handshakes: [
          { publicKey: b.node.publicKey, ageSeconds: 5 },
          ...((body.handshakes as unknown[]) ?? []),
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = await json(res);
    expect(problem).toMatchObject({ success: false, status: 400, code: "VALIDATION_FAILED" });
    expect(problem.error.details.issues.map((i: { path: string }) => i.path)).toEqual([path]);
    const [after] = await t.platform.database.db.select().from(nodes).where(eq(nodes.id, a.node.id));
    expect(after).toEqual(before);
    expect(after!.endpointCandidates).toBeNull();
    expect(after!.status).toBe("pending");
    const pairs = await t.platform.database.db.select().from(nodeReachability);
    expect(pairs).toEqual([]);
  });
});
