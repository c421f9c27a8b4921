/**
 * A column changing type under a running process (a migration applied by a newer release while this
 * one still serves): every pooled connection holds a prepared statement Postgres now refuses once.
 * Enrollments must not fail with a 500 for it.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

describe("enrollment after a schema change under a running process", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("retries the transaction once per stale statement, and every enrollment succeeds", async () => {
    const net = await createNetwork(t);
    // Enrollments at once put the insert's prepared statement on many pooled connections.
    await Promise.all(Array.from({ length: 12 }, (_, i) => createNode(t, net.id, { name: `before-${i}` })));
    const admin = postgres(t.db.url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe("alter table nodes alter column name type varchar(200)");
    } finally {
      await admin.end();
    }
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await t.request("/api/v1/nodes", {
        method: "POST",
        body: { networkId: net.id, name: `after-${i}` },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual(new Array(12).fill(201));
    const listed = await t.request(`/api/v1/nodes?networkId=${net.id}&limit=100`);
    expect((await json(listed)).data.total).toBe(24);
  }, 60_000);
});
