/**
 * The enrollment's read and its one statement (`readForEnrollment`, `insertNodeAtOnce`) on the
 * embedded database (`npm start` runs on PGlite), against the same rows drizzle reads back, and the
 * hub lease the statement answers (an enrollment into a network known here routes its peer sync by it).
 */
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/index.js";
import { auditLog, events, networkLeases, nodes } from "../../../src/db/index.js";
import { acquireLease } from "../../../src/hubs/index.js";
import type { NewNode } from "../../../src/mesh/mesh.repo.js";
import {
  deletePendingJoins,
  getNetwork,
  getNode,
  insertNodeAtOnce,
  insertPendingJoin,
  pendingJoinedPeers,
  pendingJoinIds,
  readForEnrollment,
} from "../../../src/mesh/mesh.repo.js";
import { openTestPglite, type TestPglite } from "../../support/pglite.js";

describe("the enrollment statement on PGlite", () => {
  let pglite: TestPglite;
  let database: Database;
  let networkId: string;

  beforeAll(async () => {
    pglite = await openTestPglite("enroll");
    database = pglite.database;
    networkId = await pglite.insertNetwork({ cidr4: "10.98.0.0/24", hubIp4: "10.98.0.1" });
  }, 120_000);
  afterAll(async () => {
    await pglite?.close();
  });

  const newNode = (name: string, ip4: string): NewNode => ({
    id: randomUUID(),
    networkId,
    name,
    email: null,
    publicKey: `${name.padEnd(43, "p")}=`,
    privateKeyEnc: null,
    presharedKeyEnc: null,
    presharedKeyManaged: false,
    ip4,
    ip6: null,
    endpoint: null,
    role: "peer",
    extraAllowedIps: [],
    tags: ["t"],
    natType: null,
    networkInfo: {},
    capabilities: {},
    location: {},
    configHash: "h",
    tokenHash: "th",
    enrollmentKeyId: null,
  });
  const writes = (name: string) => ({
    audit: {
      actor: "test",
      action: "node.created",
      entityType: "node",
      entityId: name,
      details: { name },
      requestId: null,
    },
    event: { type: "node.enrolled", data: { name }, source: "test" },
  });

  it("writes node, audit row and event while the network's version holds, and nothing once it moved", async () => {
    const db = database.db;
    const read = await readForEnrollment(db, networkId);
    expect(read?.used).toEqual({ ip4: [], ip6: [], hasRoutes: false });
    expect(read?.lease).toBeNull();
    const row = (
      await insertNodeAtOnce(db, {
        node: newNode("one", "10.98.0.2"),
        version: read!.version,
        ...writes("one"),
      })
    )?.row;
    expect(row).toEqual(await getNode(db, row!.id));
    const pendingOf = () => pendingJoinIds(db, networkId);
    expect(await pendingOf()).toEqual([row!.id]);
    // Known for this version: the addresses are left out; unknown, they are read.
    expect((await readForEnrollment(db, networkId, read!.version))?.used).toBeUndefined();
    expect((await readForEnrollment(db, networkId))?.used?.ip4).toEqual(["10.98.0.2"]);
    // The network's exclusive lock makes a new version: the statement then writes nothing.
    await db.transaction((tx) => getNetwork(tx, networkId, { lock: "update" }));
    expect((await readForEnrollment(db, networkId))?.version).not.toBe(read!.version);
    const stale = await insertNodeAtOnce(db, {
      node: newNode("two", "10.98.0.3"),
      version: read!.version,
      ...writes("two"),
    });
    expect(stale).toBeUndefined();
    expect(await db.select().from(nodes).where(eq(nodes.networkId, networkId))).toHaveLength(1);
    expect(await db.select().from(auditLog).where(eq(auditLog.entityId, "two"))).toHaveLength(0);
    expect((await db.select().from(events)).map((e) => e.data)).toEqual([{ name: "one" }]);
    expect(await pendingOf()).toEqual([row!.id]);
  });

  it("reads a network's pending joins with their peers, and deletes only the rows named", async () => {
    const db = database.db;
    const joining = await pglite.insertNetwork({
      name: "joining",
      cidr4: "10.96.0.0/24",
      hubIp4: "10.96.0.1",
    });
    const { version } = (await readForEnrollment(db, joining))!;
    const ids: string[] = [];
    for (const [name, ip4] of [
      ["join-one", "10.96.0.2"],
      ["join-two", "10.96.0.3"],
    ] as const) {
      const written = await insertNodeAtOnce(db, {
        node: { ...newNode(name, ip4), networkId: joining },
        version,
        ...writes(name),
      });
      ids.push(written!.row.id);
    }
    const read = await pendingJoinedPeers(db, joining, 10);
    expect(read.map((r) => [r.id, r.ip4, r.networkName])).toEqual([
      [ids[0], "10.96.0.2", "joining"],
      [ids[1], "10.96.0.3", "joining"],
    ]);
    expect(await pendingJoinedPeers(db, joining, 1)).toHaveLength(1);
    // A row naming a node that is not (or no longer) in the network adds no peer to its hub.
    const elsewhere = await pglite.insertNetwork({
      name: "elsewhere",
      cidr4: "10.95.0.0/24",
      hubIp4: "10.95.0.1",
    });
    const stranger = await insertNodeAtOnce(db, {
      node: { ...newNode("stranger", "10.95.0.2"), networkId: elsewhere },
      version: (await readForEnrollment(db, elsewhere))!.version,
      ...writes("stranger"),
    });
    await insertPendingJoin(db, joining, stranger!.row.id);
    expect((await pendingJoinedPeers(db, joining, 10)).map((r) => r.id)).toEqual(ids);
    expect(await deletePendingJoins(db, joining, [ids[0]!])).toBe(1);
    expect((await pendingJoinedPeers(db, joining, 10)).map((r) => r.id)).toEqual([ids[1]]);
    expect(await deletePendingJoins(db, joining, [ids[0]!])).toBe(0);
  });

  it("answers no lease, then the holder, then whether it is live, with the node as drizzle reads it", async () => {
    const db = database.db;
    const leased = await pglite.insertNetwork({ name: "leased", cidr4: "10.97.0.0/24", hubIp4: "10.97.0.1" });
    const { version } = (await readForEnrollment(db, leased))!;
    const enroll = (name: string, ip4: string) =>
      insertNodeAtOnce(db, { node: { ...newNode(name, ip4), networkId: leased }, version, ...writes(name) });
    const first = await enroll("lease-one", "10.97.0.2");
    expect(first?.lease).toBeNull();
    expect(first?.row).toEqual(await getNode(db, first!.row.id));
    await acquireLease(db, leased, "main", 15);
    expect((await enroll("lease-two", "10.97.0.3"))?.lease).toEqual({ hubId: "main", live: true });
    await db
      .update(networkLeases)
      .set({ hubId: "other", expiresAt: sql`now() - interval '1 second'` })
      .where(eq(networkLeases.networkId, leased));
    expect((await enroll("lease-three", "10.97.0.4"))?.lease).toEqual({ hubId: "other", live: false });
  });
});
