/**
 * The live event stream served by one API process (SSE and WebSocket): the greeting, events of the
 * rooms joined, and resuming after a forced disconnect with every event exactly once.
 */
import { and, asc, eq, isNotNull, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import { events } from "../../../../src/db/index.js";
import type { StreamClient } from "../../../support/event-stream.js";
import { openSse, openWs } from "../../../support/event-stream.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("live event stream", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let base: string;
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close(1_000);
    await t?.close();
  });

  const admin = () => ({ "X-API-Key": t.adminKey });
  const sse = async (query: string, headers: Record<string, string> = admin()) => {
    const client = await openSse(`${base}/api/v1/events?${query}`, headers);
    clients.push(client);
    return client;
  };

  /** The outbox ids of a network's events in stream order, once all are numbered. */
  async function streamIdsOf(networkId: string, count: number): Promise<string[]> {
    const rows = await t.platform.database.db
      .select({ id: events.id })
      .from(events)
      .where(and(isNotNull(events.seq), eq(sql`${events.data}->'network'->>'id'`, networkId)))
      .orderBy(asc(events.seq));
    expect(rows).toHaveLength(count);
    return rows.map((r) => r.id);
  }

  it("greets with system.hello and sends each node event of a network's room with its position", async () => {
    const net = await createNetwork(t);
    const client = await sse(`rooms=${net.id}`);
    await client.waitFor((m) => m.length >= 1, "hello");
    expect(client.messages[0]).toMatchObject({
      event: "system.hello",
      data: {
        type: "system.hello",
        data: {
          version: "0.1.0",
          rooms: [net.id],
          capabilities: expect.arrayContaining(["sse", "websocket", "resume"]),
        },
      },
    });
    expect(client.messages[0]!.id).toBeUndefined();
    const node = await createNode(t, net.id, { name: "live-one" });
    await client.waitFor((m) => m.some((e) => e.event === "node.enrolled"), "node.enrolled");
    const [event] = client.events();
    expect(event!.data).toMatchObject({
      id: event!.id,
      type: "node.enrolled",
      data: {
        node: { id: node.node.id, name: "live-one", networkId: net.id },
        network: { id: net.id },
        via: "api",
      },
    });
    expect(Number(event!.id)).toBeGreaterThan(0);
  });

  it("resumes after a forced disconnect from Last-Event-ID: nothing lost, nothing twice", async () => {
    const net = await createNetwork(t);
    const first = await sse(`rooms=${net.id}`);
    await first.waitFor((m) => m.length === 1, "hello");
    for (let i = 0; i < 3; i++) await createNode(t, net.id);
    await first.waitFor((m) => m.length === 4, "3 events");
    first.close();
    const lastId = first.events().at(-1)!.id!;
    // Missed while disconnected.
    for (let i = 0; i < 3; i++) await createNode(t, net.id);
    const second = await sse(`rooms=${net.id}`, { ...admin(), "Last-Event-ID": lastId });
    for (let i = 0; i < 2; i++) await createNode(t, net.id);
    await second.waitFor((m) => m.filter((e) => e.id).length === 5, "3 replayed and 2 live events");
    const received = [...first.events(), ...second.events()].map((e) => e.data.eventId);
    expect(received).toEqual(await streamIdsOf(net.id, 8));
    expect(new Set(received).size).toBe(8);
    const positions = [...first.events(), ...second.events()].map((e) => Number(e.id));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it("replays from ?since= over the WebSocket too, then goes live", async () => {
    const net = await createNetwork(t);
    await createNode(t, net.id);
    await createNode(t, net.id);
    const probe = await sse(`rooms=${net.id}&since=0`);
    await probe.waitFor((m) => m.filter((e) => e.id).length === 2, "2 replayed events");
    const since = probe.events()[0]!.id!;
    const ws = await openWs(`ws://127.0.0.1:${server.port}/ws?rooms=${net.id}&since=${since}`, admin());
    clients.push(ws);
    await createNode(t, net.id);
    await ws.waitFor((m) => m.filter((e) => e.id).length === 2, "1 replayed and 1 live event");
    expect(ws.messages[0]!.event).toBe("system.hello");
    expect(ws.events().map((e) => e.data.eventId)).toEqual((await streamIdsOf(net.id, 3)).slice(1));
  });

  it("adds rooms a WebSocket subscribes to", async () => {
    const [a, b] = [await createNetwork(t), await createNetwork(t)];
    const ws = await openWs(`ws://127.0.0.1:${server.port}/ws?rooms=${a.id}`, admin());
    clients.push(ws);
    const watcher = await sse("rooms=admin");
    await ws.waitFor((m) => m.length === 1, "hello");
    await createNode(t, b.id);
    // Handed out by this process before the subscription: not sent to the WebSocket.
    await watcher.waitFor((m) => m.some((e) => e.event === "node.enrolled"), "the first event");
    ws.send({ type: "subscribe", rooms: [b.id] });
    await ws.waitFor((m) => m.some((e) => e.event === "subscribed"), "subscribed");
    expect(ws.messages.at(-1)!.data).toEqual({ type: "subscribed", rooms: [b.id] });
    await createNode(t, b.id);
    await createNode(t, a.id);
    await ws.waitFor((m) => m.filter((e) => e.id).length === 2, "an event of each room");
    expect(ws.events().map((e) => (e.data.data as { network: { id: string } }).network.id)).toEqual([
      b.id,
      a.id,
    ]);
  });

  it("answers bad resume positions and room names with 400 and a GET without upgrade on /ws with 400", async () => {
    const bad = await fetch(`${base}/api/v1/events?rooms=admin`, {
      headers: { ...admin(), "Last-Event-ID": "x" },
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).code).toBe("VALIDATION_FAILED");
    const room = await fetch(`${base}/api/v1/events?rooms=nope`, { headers: admin() });
    expect(room.status).toBe(400);
    expect((await json(room)).detail).toMatch(/neither "admin" nor a network id/);
    const missing = await fetch(`${base}/api/v1/events?rooms=00000000-0000-4000-8000-000000000000`, {
      headers: admin(),
    });
    expect(missing.status).toBe(404);
    expect((await json(missing)).code).toBe("NETWORK_NOT_FOUND");
    const plain = await fetch(`${base}/ws?rooms=admin`, { headers: admin() });
    expect(plain.status).toBe(400);
    expect((await json(plain)).detail).toMatch(/needs a WebSocket upgrade/);
  });
});
