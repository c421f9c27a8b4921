import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

describe("usage collection and GET /api/v1/usage", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("accumulates readings per month, survives counter resets, and records handshakes", async () => {
    const net = await createNetwork(t);
    const a = await createNode(t, net.id, { email: "ana@example.com" });
    const b = await createNode(t, net.id);
    const { usage } = t.platform.services;
    const at = (iso: string) => new Date(iso);
    await usage.recordReadings(
      net.id,
      [
        { publicKey: a.node.publicKey, rx: 1_000, tx: 2_000, latestHandshake: 1_790_000_000 },
        { publicKey: b.node.publicKey, rx: 10, tx: 10, latestHandshake: 0 },
      ],
      at("2026-10-30T10:00:00Z"),
    );
    await usage.recordReadings(
      net.id,
      [{ publicKey: a.node.publicKey, rx: 1_500, tx: 2_100, latestHandshake: 1_790_000_100 }],
      at("2026-10-31T10:00:00Z"),
    );
    // The interface restarted: counters start over.
    await usage.recordReadings(
      net.id,
      [{ publicKey: a.node.publicKey, rx: 300, tx: 50, latestHandshake: 1_790_000_200 }],
      at("2026-11-02T10:00:00Z"),
    );

    const october = await json(await t.request(`/api/v1/usage?node=${a.node.id}&month=2026-10`));
    expect(october.data.items).toHaveLength(1);
    expect(october.data.items[0]).toMatchObject({ rxBytes: 1_500, txBytes: 2_100, email: "ana@example.com" });
    const november = await json(await t.request(`/api/v1/usage?node=${a.node.id}&month=2026-11`));
    expect(november.data.items[0]).toMatchObject({ rxBytes: 300, txBytes: 50 });
    const node = await json(await t.request(`/api/v1/nodes/${a.node.id}`));
    expect(node.data.lastHandshakeAt).toBe(new Date(1_790_000_200 * 1000).toISOString());
    const all = await json(await t.request(`/api/v1/usage?network=${net.id}`));
    expect(all.data.total).toBe(3);
  });

  it("keeps a deleted node's history only when asked", async () => {
    const net = await createNetwork(t);
    const keep = await createNode(t, net.id);
    const drop = await createNode(t, net.id);
    await t.platform.services.usage.recordReadings(net.id, [
      { publicKey: keep.node.publicKey, rx: 5, tx: 5, latestHandshake: 0 },
      { publicKey: drop.node.publicKey, rx: 7, tx: 7, latestHandshake: 0 },
    ]);
    await t.request(`/api/v1/nodes/${keep.node.id}?keep_usage_history=true`, { method: "DELETE" });
    await t.request(`/api/v1/nodes/${drop.node.id}?keep_usage_history=false`, { method: "DELETE" });
    const rows = (await json(await t.request(`/api/v1/usage?network=${net.id}`))).data.items;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      publicKey: keep.node.publicKey,
      nodeId: null,
      nodeName: keep.node.name,
      rxBytes: 5,
    });
  });

  it("writes only the rows a reading changes", async () => {
    const net = await createNetwork(t);
    const [idle, busy, renamed] = [
      await createNode(t, net.id),
      await createNode(t, net.id),
      await createNode(t, net.id),
    ];
    const { usage } = t.platform.services;
    const reading = (rx: number) =>
      [idle, busy, renamed].map((n, i) => ({
        publicKey: n.node.publicKey,
        rx: i === 1 ? rx : 5,
        tx: 5,
        latestHandshake: 0,
      }));
    // Each row's version: Postgres gives a row a new xmin whenever it is written.
    const versions = async () => {
      const rows = (await t.db.database.db.execute(
        sql`select public_key, xmin::text as v from usage_monthly where network_id = ${net.id} order by public_key`,
      )) as unknown as { public_key: string; v: string }[];
      return new Map(rows.map((r) => [r.public_key, r.v]));
    };
    expect(await usage.recordReadings(net.id, reading(10), new Date("2026-11-03T10:00:00Z"))).toBe(3);
    const before = await versions();
    await t.request(`/api/v1/nodes/${renamed.node.id}`, { method: "PATCH", body: { name: "renamed-node" } });
    expect(await usage.recordReadings(net.id, reading(20), new Date("2026-11-03T10:05:00Z"))).toBe(3);
    const after = await versions();
    expect(after.get(idle.node.publicKey)).toBe(before.get(idle.node.publicKey));
    expect(after.get(busy.node.publicKey)).not.toBe(before.get(busy.node.publicKey));
    expect(after.get(renamed.node.publicKey)).not.toBe(before.get(renamed.node.publicKey));
    const rows = (await json(await t.request(`/api/v1/usage?network=${net.id}`))).data.items;
    expect(rows.find((r: { publicKey: string }) => r.publicKey === busy.node.publicKey)).toMatchObject({
      rxBytes: 20,
      updatedAt: "2026-11-03T10:05:00.000Z",
    });
    expect(rows.find((r: { publicKey: string }) => r.publicKey === renamed.node.publicKey)).toMatchObject({
      nodeName: "renamed-node",
    });
    expect(rows.find((r: { publicKey: string }) => r.publicKey === idle.node.publicKey)).toMatchObject({
      rxBytes: 5,
      updatedAt: "2026-11-03T10:00:00.000Z",
    });
    // A new month starts a row for every peer, idle or not.
    await usage.recordReadings(net.id, reading(20), new Date("2026-12-01T00:00:00Z"));
    expect((await json(await t.request(`/api/v1/usage?network=${net.id}&month=2026-12`))).data.total).toBe(3);
  });

  it("writes a node's handshake only when it is newer than the one stored", async () => {
    const net = await createNetwork(t);
    const node = await createNode(t, net.id);
    const { usage } = t.platform.services;
    const reading = (latestHandshake: number) => [
      { publicKey: node.node.publicKey, rx: 1, tx: 1, latestHandshake },
    ];
    const version = async () => {
      const rows = (await t.db.database.db.execute(
        sql`select xmin::text as v, last_handshake_at as at from nodes where id = ${node.node.id}`,
      )) as unknown as { v: string; at: Date | string }[];
      return { v: rows[0]!.v, at: new Date(rows[0]!.at).toISOString() };
    };
    await usage.recordReadings(net.id, reading(1_790_000_000));
    const first = await version();
    expect(first.at).toBe(new Date(1_790_000_000_000).toISOString());
    await usage.recordReadings(net.id, reading(1_790_000_000));
    expect(await version()).toEqual(first);
    await usage.recordReadings(net.id, reading(1_790_000_060));
    const later = await version();
    expect(later.v).not.toBe(first.v);
    expect(later.at).toBe(new Date(1_790_000_060_000).toISOString());
  });

  it("refuses a malformed month with 400", async () => {
    const res = await t.request("/api/v1/usage?month=2026-13");
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toMatch(/month: must be YYYY-MM/);
  });
});
