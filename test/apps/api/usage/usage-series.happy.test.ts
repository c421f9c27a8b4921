import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourOf } from "../../../../src/usage/index.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

interface Point {
  hour: string;
  rxBytes: number;
  txBytes: number;
}

describe("usage you can see: hourly series, all-time totals, by key, top talkers, CSV", () => {
  let t: TestPlatform;
  let readKey: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    const res = await t.request("/api/admin/api-keys", {
      method: "POST",
      body: { name: "reader", scopes: ["read"] },
    });
    readKey = (await json(res)).data.key;
  });
  afterAll(async () => {
    await t.close();
  });

  it("buckets each collection's delta into its hour, a counter reset counted once", async () => {
    const net = await createNetwork(t);
    const a = await createNode(t, net.id);
    const b = await createNode(t, net.id);
    const { usage } = t.platform.services;
    const h0 = hourOf(new Date()).getTime();
    const at = (ms: number) => new Date(ms);
    const read = (key: string, rx: number, tx: number) => ({ publicKey: key, rx, tx, latestHandshake: 0 });
    // Two hours ago: first reading (the whole counter), then +500/+100 in the same hour.
    await usage.recordReadings(
      net.id,
      [read(a.node.publicKey, 1_000, 2_000)],
      at(h0 - 2 * HOUR_MS + 5 * MINUTE_MS),
    );
    await usage.recordReadings(
      net.id,
      [read(a.node.publicKey, 1_500, 2_100)],
      at(h0 - 2 * HOUR_MS + 30 * MINUTE_MS),
    );
    // An hour ago the interface restarted: the counters start over at 300/50.
    await usage.recordReadings(net.id, [read(a.node.publicKey, 300, 50)], at(h0 - HOUR_MS + 10 * MINUTE_MS));
    // This hour: +100/+100 for a, b's first reading.
    await usage.recordReadings(
      net.id,
      [read(a.node.publicKey, 400, 150), read(b.node.publicKey, 10, 20)],
      at(h0),
    );
    // An idle collection changes nothing.
    await usage.recordReadings(
      net.id,
      [read(a.node.publicKey, 400, 150), read(b.node.publicKey, 10, 20)],
      at(h0),
    );

    const point = (series: { hourly: Point[] }, ms: number) =>
      series.hourly.find((p) => p.hour === new Date(ms).toISOString());
    const node = (
      await json(await t.request(`/api/v1/usage/series?nodeId=${a.node.id}&hours=4`, { key: readKey }))
    ).data;
    expect(node.hourly).toHaveLength(4);
    expect(point(node, h0 - 3 * HOUR_MS)).toEqual({
      hour: new Date(h0 - 3 * HOUR_MS).toISOString(),
      rxBytes: 0,
      txBytes: 0,
    });
    expect(point(node, h0 - 2 * HOUR_MS)).toMatchObject({ rxBytes: 1_500, txBytes: 2_100 });
    expect(point(node, h0 - HOUR_MS)).toMatchObject({ rxBytes: 300, txBytes: 50 });
    expect(point(node, h0)).toMatchObject({ rxBytes: 100, txBytes: 100 });
    const sum = (xs: { rxBytes: number; txBytes: number }[]) =>
      xs.reduce((s, p) => ({ rx: s.rx + p.rxBytes, tx: s.tx + p.txBytes }), { rx: 0, tx: 0 });
    // The months hold exactly what the hours hold (1,500 + 300 + 100 received).
    expect(sum(node.monthly)).toEqual({ rx: 1_900, tx: 2_250 });
    expect(sum(node.hourly)).toEqual({ rx: 1_900, tx: 2_250 });

    const network = (await json(await t.request(`/api/v1/usage/series?networkId=${net.id}&hours=4`))).data;
    expect(point(network, h0)).toMatchObject({ rxBytes: 110, txBytes: 120 });
    expect(sum(network.hourly)).toEqual({ rx: 1_910, tx: 2_270 });

    const csv = await t.request(`/api/v1/usage/series?nodeId=${a.node.id}&hours=2&format=csv`);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    // Built before asserting: the hour may have turned since the readings (then `h0` points move).
    const h = hourOf(new Date()).getTime();
    const value = (ms: number) => point(node, ms) ?? { rxBytes: 0, txBytes: 0 };
    const line = (ms: number) => `${new Date(ms).toISOString()},${value(ms).rxBytes},${value(ms).txBytes}`;
    expect(await csv.text()).toBe(`hour,rxBytes,txBytes\r\n${line(h - HOUR_MS)}\r\n${line(h)}\r\n`);
  });

  it("answers by public key, with all-time totals beside the monthly ones when asked", async () => {
    const net = await createNetwork(t);
    const a = await createNode(t, net.id, { email: "ana@example.com" });
    const b = await createNode(t, net.id);
    const { usage } = t.platform.services;
    const read = (key: string, rx: number, tx: number) => ({ publicKey: key, rx, tx, latestHandshake: 0 });
    await usage.recordReadings(
      net.id,
      [read(a.node.publicKey, 1_000, 2_000), read(b.node.publicKey, 7, 9)],
      new Date("2026-10-30T10:00:00Z"),
    );
    await usage.recordReadings(
      net.id,
      [read(a.node.publicKey, 1_400, 2_600)],
      new Date("2026-11-02T10:00:00Z"),
    );

    const key = encodeURIComponent(a.node.publicKey);
    const monthly = (await json(await t.request(`/api/v1/usage?publicKey=${key}`, { key: readKey }))).data;
    expect(monthly.total).toBe(2);
    expect(
      monthly.items.map((r: { month: string; rxBytes: number; allTime?: unknown }) => [
        r.month,
        r.rxBytes,
        r.allTime,
      ]),
    ).toEqual([
      ["2026-11", 400, undefined],
      ["2026-10", 1_000, undefined],
    ]);
    const allTimeRes = await json(await t.request(`/api/v1/usage?publicKey=${key}&monthly_only=false`));
    const allTime = allTimeRes.data;
    expect(
      allTime.items.map((r: { month: string; txBytes: number; allTime: unknown }) => [
        r.month,
        r.txBytes,
        r.allTime,
      ]),
    ).toEqual([
      ["2026-11", 600, { rxBytes: 1_400, txBytes: 2_600 }],
      ["2026-10", 2_000, { rxBytes: 1_400, txBytes: 2_600 }],
    ]);
    // A month filter keeps the all-time totals whole.
    const october = (
      await json(await t.request(`/api/v1/usage?network=${net.id}&month=2026-10&monthly_only=false`))
    ).data;
    expect(
      october.items.map((r: { publicKey: string; allTime: unknown }) => [r.publicKey, r.allTime]),
    ).toEqual([
      [a.node.publicKey, { rxBytes: 1_400, txBytes: 2_600 }],
      [b.node.publicKey, { rxBytes: 7, txBytes: 9 }],
    ]);

    const csv = await t.request(`/api/v1/usage?publicKey=${key}&monthly_only=false`, {
      headers: { Accept: "text/csv" },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-disposition")).toBe('attachment; filename="usage.csv"');
    const rows = (await json(await t.request(`/api/v1/usage?publicKey=${key}`))).data.items;
    const when = (month: string) => rows.find((r: { month: string }) => r.month === month).updatedAt;
    const prefix = `${net.id},${a.node.id},${a.node.publicKey},${a.node.name},ana@example.com`;
    expect(await csv.text()).toBe(
      "networkId,nodeId,publicKey,nodeName,email,month,rxBytes,txBytes,allTimeRxBytes,allTimeTxBytes,updatedAt\r\n" +
        `${prefix},2026-11,400,600,1400,2600,${when("2026-11")}\r\n` +
        `${prefix},2026-10,1000,2000,1400,2600,${when("2026-10")}\r\n`,
    );
  });

  it("ranks a network's top talkers of a month by received + sent", async () => {
    const net = await createNetwork(t);
    const other = await createNetwork(t);
    const [small, big, idle] = [
      await createNode(t, net.id),
      await createNode(t, net.id),
      await createNode(t, net.id),
    ];
    const elsewhere = await createNode(t, other.id);
    const { usage } = t.platform.services;
    const read = (key: string, rx: number, tx: number) => ({ publicKey: key, rx, tx, latestHandshake: 0 });
    const november = new Date("2026-11-05T10:00:00Z");
    await usage.recordReadings(
      net.id,
      [
        read(small.node.publicKey, 100, 50),
        read(big.node.publicKey, 10, 900),
        read(idle.node.publicKey, 0, 0),
      ],
      november,
    );
    await usage.recordReadings(other.id, [read(elsewhere.node.publicKey, 99_999, 99_999)], november);

    const top = (
      await json(await t.request(`/api/v1/networks/${net.id}/usage/top?month=2026-11`, { key: readKey }))
    ).data;
    expect(top).toEqual({
      month: "2026-11",
      items: [
        {
          nodeId: big.node.id,
          publicKey: big.node.publicKey,
          nodeName: big.node.name,
          rxBytes: 10,
          txBytes: 900,
          totalBytes: 910,
        },
        {
          nodeId: small.node.id,
          publicKey: small.node.publicKey,
          nodeName: small.node.name,
          rxBytes: 100,
          txBytes: 50,
          totalBytes: 150,
        },
      ],
    });
    const first = await t.request(`/api/v1/networks/${net.id}/usage/top?month=2026-11&limit=1&format=csv`);
    expect(await first.text()).toBe(
      `nodeId,publicKey,nodeName,rxBytes,txBytes,totalBytes\r\n${big.node.id},${big.node.publicKey},${big.node.name},10,900,910\r\n`,
    );
    const december = (await json(await t.request(`/api/v1/networks/${net.id}/usage/top?month=2026-12`))).data;
    expect(december).toEqual({ month: "2026-12", items: [] });
  });
});
