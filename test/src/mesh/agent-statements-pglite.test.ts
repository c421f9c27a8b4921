/**
 * The agent's hot statements on the embedded database (`npm start` runs on PGlite): the steady
 * heartbeat (an UPDATE … FROM returning the hub key, guarded by status, addresses and jsonb
 * candidates) and the audited config read (a data-modifying WITH in front of the node's read).
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/index.js";
import { auditLog, nodes } from "../../../src/db/index.js";
import { auditedNodeWithNetwork, recordSteadyHeartbeat, routeRows } from "../../../src/mesh/mesh.repo.js";
import { openTestPglite, type TestPglite } from "../../support/pglite.js";

describe("agent statements on PGlite", () => {
  let pglite: TestPglite;
  let database: Database;
  let nodeId: string;
  const candidates = {
    listenPort: 51820,
    addresses: ["192.168.1.2/24"],
    reported: null,
    reflexive: "198.51.100.1",
  };

  beforeAll(async () => {
    pglite = await openTestPglite("agent");
    database = pglite.database;
    const networkId = await pglite.insertNetwork({
      cidr4: "10.98.0.0/24",
      hubIp4: "10.98.0.1",
      hubPublicKey: `${"h".repeat(43)}=`,
    });
    const [node] = await database.db
      .insert(nodes)
      .values({
        networkId,
        name: "a",
        publicKey: `${"a".repeat(43)}=`,
        ip4: "10.98.0.2",
        privateKeyEnc: "sealed",
        status: "online",
        endpointCandidates: candidates,
        tokenHash: "a".repeat(64),
      })
      .returning({ id: nodes.id });
    nodeId = node!.id;
    await database.db.insert(nodes).values({
      networkId,
      name: "router",
      publicKey: `${"r".repeat(43)}=`,
      ip4: "10.98.0.3",
      ip6: "fd00::3",
      extraAllowedIps: ["192.168.7.0/24"],
      endpointCandidates: candidates,
      configHash: "c",
    });
  }, 120_000);
  afterAll(async () => {
    await pglite?.close();
  });

  it("stores a steady heartbeat only while the row holds what it was decided from", async () => {
    const db = database.db;
    const beat = { metrics: { cpu: 3 }, seenAt: new Date(), appliedConfigVersion: 2 };
    const expected = { status: "online" as const, lastHandshakeAt: null, ip4: "10.98.0.2", ip6: null };
    const stored = await recordSteadyHeartbeat(db, nodeId, beat, { ...expected, candidates });
    expect(stored).toMatchObject({ id: nodeId, metrics: { cpu: 3 }, appliedConfigVersion: 2 });
    expect(stored?.hubPublicKey).toBe(`${"h".repeat(43)}=`);
    const moved = { ...candidates, addresses: ["192.168.1.3/24"] };
    expect(await recordSteadyHeartbeat(db, nodeId, beat, { ...expected, candidates: moved })).toBeUndefined();
    expect(await recordSteadyHeartbeat(db, nodeId, beat, { ...expected, ip4: "10.98.0.3" })).toBeUndefined();
    expect(
      await recordSteadyHeartbeat(db, nodeId, beat, { ...expected, status: "degraded" }),
    ).toBeUndefined();
    // The heartbeat's own authentication: only with the node's token.
    const other = { ...beat, metrics: { cpu: 4 } };
    expect(
      await recordSteadyHeartbeat(db, nodeId, other, { ...expected, tokenHash: "b".repeat(64) }),
    ).toBeUndefined();
    expect((await db.select().from(nodes).where(eq(nodes.id, nodeId)))[0]?.metrics).toEqual({ cpu: 3 });
    expect(
      await recordSteadyHeartbeat(db, nodeId, other, { ...expected, tokenHash: "a".repeat(64) }),
    ).toMatchObject({
      metrics: { cpu: 4 },
    });
  });

  it("reads the node with its network and audits the read in one statement", async () => {
    const db = database.db;
    // With a token hash that is not the node's: nothing read, nothing audited.
    const refused = await auditedNodeWithNetwork(db, nodeId, {
      actor: `node:${nodeId}`,
      format: "conf",
      requestId: "r0",
      auditPresharedKeys: false,
      tokenHash: "b".repeat(64),
    });
    expect(refused).toBeUndefined();
    expect(await db.select().from(auditLog).where(eq(auditLog.entityId, nodeId))).toEqual([]);
    const found = await auditedNodeWithNetwork(db, nodeId, {
      actor: `node:${nodeId}`,
      format: "qr",
      requestId: "r1",
      auditPresharedKeys: false,
      tokenHash: "a".repeat(64),
    });
    expect(found?.node.id).toBe(nodeId);
    expect(found?.network.name).toBe("embedded");
    // The routes behind other nodes come with it, as `routeRows` reads them.
    expect(found?.routed).toEqual(await routeRows(db, found!.network.id));
    expect(found?.routed).toMatchObject([
      { name: "router", ip4: "10.98.0.3", extraAllowedIps: ["192.168.7.0/24"] },
    ]);
    const rows = await db.select().from(auditLog).where(eq(auditLog.entityId, nodeId));
    expect(rows).toMatchObject([
      {
        actor: `node:${nodeId}`,
        action: "node.private-key-read",
        entityType: "node",
        details: { networkId: found!.network.id, format: "qr" },
        requestId: "r1",
      },
    ]);
  });
});
