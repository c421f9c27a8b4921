/**
 * The enrollment statement answers the network's hub lease as it reads it (`insertNodeAtOnceWithLease`),
 * on the embedded database too: an enrollment into a network known here routes its peer sync by it.
 */
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/index.js";
import { networkLeases } from "../../../src/db/index.js";
import { acquireLease } from "../../../src/hubs/index.js";
import type { NewNode } from "../../../src/mesh/mesh.repo.js";
import { getNode, insertNodeAtOnceWithLease, readForEnrollment } from "../../../src/mesh/mesh.repo.js";
import { openTestPglite, type TestPglite } from "../../support/pglite.js";

describe("the enrollment statement's hub lease on PGlite", () => {
  let pglite: TestPglite;
  let database: Database;
  let networkId: string;

  beforeAll(async () => {
    pglite = await openTestPglite("enroll-lease");
    database = pglite.database;
    networkId = await pglite.insertNetwork({ cidr4: "10.97.0.0/24", hubIp4: "10.97.0.1" });
  }, 120_000);
  afterAll(async () => {
    await pglite?.close();
  });

  const enroll = async (name: string, ip4: string, version: string) => {
    const node: NewNode = {
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
      tags: [],
      natType: null,
      networkInfo: {},
      capabilities: {},
      location: {},
      configHash: "h",
      tokenHash: "th",
      enrollmentKeyId: null,
    };
    return insertNodeAtOnceWithLease(database.db, {
      node,
      version,
      audit: {
        actor: "test",
        action: "node.created",
        entityType: "node",
        entityId: name,
        details: {},
        requestId: null,
      },
      event: { type: "node.enrolled", data: { name }, source: "test" },
    });
  };

  it("answers no lease, then the holder, then whether it is live, with the node as drizzle reads it", async () => {
    const db = database.db;
    const { version } = (await readForEnrollment(db, networkId))!;
    const first = await enroll("one", "10.97.0.2", version);
    expect(first?.lease).toBeNull();
    expect(first?.row).toEqual(await getNode(db, first!.row.id));
    await acquireLease(db, networkId, "main", 15);
    expect((await enroll("two", "10.97.0.3", version))?.lease).toEqual({ hubId: "main", live: true });
    await db
      .update(networkLeases)
      .set({ hubId: "other", expiresAt: sql`now() - interval '1 second'` })
      .where(eq(networkLeases.networkId, networkId));
    expect((await enroll("three", "10.97.0.4", version))?.lease).toEqual({ hubId: "other", live: false });
  });
});
