/**
 * Who may read which room of the live event stream, and what a reader sees: a read key sees no
 * secret and no admin room; a node's token only its own network's room (without members' emails);
 * stream tokens join one room only, are stored hashed and expire.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import { sha256Hex } from "../../../../src/crypto/index.js";
import { STREAM_TOKEN_TTL_SECONDS } from "../../../../src/platform.js";
import { createApiKey, createUser } from "../../../support/auth.js";
import { TEST_REDIS_URL } from "../../../support/env.js";
import type { StreamClient } from "../../../support/event-stream.js";
import { openSse, openWs } from "../../../support/event-stream.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("live event stream: rooms and secrets", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let base: string;
  let readKey: string;
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
    base = `http://127.0.0.1:${server.port}`;
    readKey = (await createApiKey(t, ["read"])).key;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close(1_000);
    await t?.close();
  });

  const keep = <T extends StreamClient>(c: T) => {
    clients.push(c);
    return c;
  };
  const refusedStatus = (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: { status?: number }) => e.status,
    );

  it("refuses a stream without credentials (401) and an unknown stream token (401)", async () => {
    const none = await fetch(`${base}/api/v1/events?rooms=admin`);
    expect(none.status).toBe(401);
    expect((await json(none)).code).toBe("UNAUTHENTICATED");
    const forged = await fetch(`${base}/api/v1/events?token=wst_${"a".repeat(43)}`);
    expect(forged.status).toBe(401);
    expect((await json(forged)).detail).toMatch(/stream token is unknown or expired/);
    expect(await refusedStatus(openWs(`ws://127.0.0.1:${server.port}/ws?rooms=admin`))).toBe(401);
  });

  it("takes a session as a Bearer token or the dashboard's cookie, and gives a non-admin user no admin room", async () => {
    const admin = await createUser(t, "stream-admin@example.com", { role: "admin" });
    const user = await createUser(t, "stream-user@example.com", { role: "user" });
    const net = await createNetwork(t);
    const bearer = keep(await openSse(`${base}/api/v1/events`, { Authorization: `Bearer ${admin.token}` }));
    await bearer.waitFor((m) => m.length === 1, "hello");
    expect(bearer.messages[0]!.data).toMatchObject({ data: { rooms: ["admin"] } });
    const cookie = { Cookie: `wiresync_session=${admin.token}` };
    const viaCookie = keep(await openWs(`ws://127.0.0.1:${server.port}/ws?rooms=admin`, cookie));
    await viaCookie.waitFor((m) => m.length === 1, "hello");
    const userCookie = { Cookie: `wiresync_session=${user.token}` };
    const refused = await fetch(`${base}/api/v1/events?rooms=admin`, { headers: userCookie });
    expect(refused.status).toBe(403);
    const own = keep(await openSse(`${base}/api/v1/events?rooms=${net.id}`, userCookie));
    await createNode(t, net.id);
    await own.waitFor((m) => m.filter((e) => e.id).length === 1, "the network's event");
    await viaCookie.waitFor((m) => m.some((e) => e.event === "node.enrolled"), "the admin's copy");
  });

  it("gives a read key its networks' rooms without a secret, and refuses it the admin room", async () => {
    const refused = await fetch(`${base}/api/v1/events?rooms=admin`, { headers: { "X-API-Key": readKey } });
    expect(refused.status).toBe(403);
    expect(await json(refused)).toMatchObject({ code: "FORBIDDEN", detail: "the admin room needs an admin" });
    const wsRefused = openWs(`ws://127.0.0.1:${server.port}/ws?rooms=admin`, { "X-API-Key": readKey });
    expect(await refusedStatus(wsRefused)).toBe(403);

    const net = await createNetwork(t);
    const reader = keep(await openSse(`${base}/api/v1/events?rooms=${net.id}`, { "X-API-Key": readKey }));
    const admin = keep(await openSse(`${base}/api/v1/events?rooms=admin`, { "X-API-Key": t.adminKey }));
    // A server-made key pair and a node token: both in the create answer, neither in any event.
    const created = await createNode(t, net.id, { name: "secretive", email: "owner@example.com" });
    await t.request(`/api/v1/nodes/${created.node.id}`, { method: "PATCH", body: { name: "renamed" } });
    await reader.waitFor((m) => m.filter((e) => e.id).length === 2, "enrolled and updated");
    await admin.waitFor((m) => m.filter((e) => e.id).length === 2, "the admin's copy");
    const privateKey = /PrivateKey = (\S+)/.exec(created.config)![1]!;
    for (const stream of [reader, admin]) {
      const text = JSON.stringify(stream.messages);
      expect(text).not.toContain(privateKey);
      expect(text).not.toContain(created.token);
      expect(text).not.toMatch(/privateKey|presharedKey|tokenHash|"token"/i);
    }
    expect(reader.events().map((e) => e.event)).toEqual(["node.enrolled", "node.updated"]);
  });

  it("keeps a node's token to its own network's room, without the other members' emails", async () => {
    const [a, b] = [await createNetwork(t), await createNetwork(t)];
    // A stream without Last-Event-ID starts at this process's stream head, and the hub numbers events
    // a moment after their commit: wait until it handed out the member's enrollment (an admin stream
    // sees it), so the node's stream below starts after it and its first event is the one made later.
    const admin = keep(await openSse(`${base}/api/v1/events?rooms=admin`, { "X-API-Key": t.adminKey }));
    const member = await createNode(t, a.id, { name: "member" });
    await admin.waitFor(
      (m) => m.some((e) => e.event === "node.enrolled" && JSON.stringify(e.data).includes(member.node.id)),
      "the member's enrollment",
    );
    const asNode = { Authorization: `Bearer ${member.token}` };
    const other = await fetch(`${base}/api/v1/events?rooms=${b.id}`, { headers: asNode });
    expect(other.status).toBe(403);
    expect((await json(other)).detail).toBe("a node's token reaches only its own network's room");
    const adminRoom = await fetch(`${base}/api/v1/events?rooms=admin`, { headers: asNode });
    expect(adminRoom.status).toBe(403);

    const own = keep(await openSse(`${base}/api/v1/events`, asNode));
    await own.waitFor((m) => m.length === 1, "hello");
    expect(own.messages[0]!.data).toMatchObject({ data: { rooms: [a.id] } });
    const ws = keep(await openWs(`ws://127.0.0.1:${server.port}/ws`, asNode));
    await ws.waitFor((m) => m.length === 1, "hello");
    ws.send({ type: "subscribe", rooms: [b.id] });
    await ws.waitFor((m) => m.some((e) => e.event === "error"), "an error frame");
    expect(ws.messages.at(-1)!.data).toEqual({
      type: "error",
      error: {
        status: 403,
        code: "FORBIDDEN",
        message: "a node's token reaches only its own network's room",
        room: b.id,
      },
    });
    await createNode(t, b.id, { email: "b@example.com" });
    await createNode(t, a.id, { email: "a@example.com" });
    await own.waitFor((m) => m.filter((e) => e.id).length === 1, "the event of its network");
    await ws.waitFor((m) => m.filter((e) => e.id).length === 1, "the event of its network");
    for (const stream of [own, ws]) {
      const [event] = stream.events();
      expect((event!.data.data as { network: { id: string } }).network.id).toBe(a.id);
      expect(JSON.stringify(stream.messages)).not.toContain("@example.com");
    }
  });

  it("issues stream tokens that join one room, stored hashed, for 120 seconds", async () => {
    const [a, b] = [await createNetwork(t), await createNetwork(t)];
    const refused = await t.request("/api/v1/events/token", {
      method: "POST",
      key: readKey,
      body: { room: "admin" },
    });
    expect(refused.status).toBe(403);
    const res = await t.request("/api/v1/events/token", {
      method: "POST",
      key: readKey,
      body: { room: a.id },
    });
    expect(res.status).toBe(201);
    const { token, expiresAt, room } = (await json(res)).data;
    expect(token).toMatch(/^wst_[A-Za-z0-9_-]{43}$/);
    expect(room).toBe(a.id);
    const lifetimeMs = new Date(expiresAt).getTime() - Date.now();
    expect(lifetimeMs).toBeGreaterThan(100_000);
    expect(lifetimeMs).toBeLessThanOrEqual(120_000);
    expect(STREAM_TOKEN_TTL_SECONDS).toBe(120);

    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await redis.keys(`${t.prefix}:stream-token:*`);
      expect(keys).toEqual([`${t.prefix}:stream-token:${sha256Hex(token)}`]);
      expect(await redis.get(keys[0]!)).not.toContain(token);
      const ttl = await redis.ttl(keys[0]!);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      redis.disconnect();
    }

    const elsewhere = await fetch(`${base}/api/v1/events?token=${token}&rooms=${b.id}`);
    expect(elsewhere.status).toBe(403);
    expect((await json(elsewhere)).detail).toBe(`this stream token joins room ${a.id} only`);
    // Nothing but the stream takes it.
    const api = await fetch(`${base}/api/v1/networks?token=${token}`);
    expect(api.status).toBe(401);
    const stream = keep(await openSse(`${base}/api/v1/events?token=${token}`));
    await createNode(t, b.id);
    await createNode(t, a.id);
    await stream.waitFor((m) => m.filter((e) => e.id).length === 1, "the event of its room");
    expect((stream.events()[0]!.data.data as { network: { id: string } }).network.id).toBe(a.id);
    const ws = keep(await openWs(`ws://127.0.0.1:${server.port}/ws?token=${token}`));
    ws.send({ type: "subscribe", rooms: [b.id] });
    await ws.waitFor((m) => m.some((e) => e.event === "error"), "an error frame");
    expect(ws.messages.at(-1)!.data).toMatchObject({ error: { status: 403, code: "FORBIDDEN" } });
  });
});
