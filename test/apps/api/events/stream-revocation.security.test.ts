/**
 * A stream authenticates once, then re-checks its caller at each keepalive: disabling the user, the
 * user signing out everywhere, or revoking the API key ends an open SSE stream and closes a WebSocket
 * (1008) within one keepalive interval, stream tokens included. Others' streams go on.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import { bearer, createApiKey, createUser } from "../../../support/auth.js";
import type { StreamClient } from "../../../support/event-stream.js";
import { openSse, openWs } from "../../../support/event-stream.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const KEEPALIVE_MS = 300;
/** A loaded machine: many keepalives' worth, waited on as a condition. */
const WAIT = { timeout: 20_000, interval: 25 };

/** Resolves once `done` has settled, failing after the wait's timeout. */
async function settles(done: Promise<unknown>, what: string) {
  let settled = false;
  void done.then(() => {
    settled = true;
  });
  await vi.waitFor(() => {
    if (!settled) throw new Error(`waiting for ${what}`);
  }, WAIT);
}

describe("open streams end when their caller no longer stands", { timeout: 60_000 }, () => {
  let t: TestPlatform;
  let server: RunningServer;
  let base: string;
  let ws: string;
  let netId: string;
  const clients: StreamClient[] = [];
  const keep = <T extends StreamClient>(c: T) => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await createTestPlatform({ streamKeepaliveMs: KEEPALIVE_MS });
    server = await listen(t.app, 0, "127.0.0.1");
    base = `http://127.0.0.1:${server.port}`;
    ws = `ws://127.0.0.1:${server.port}`;
    netId = (await createNetwork(t)).id;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close(1_000);
    await t?.close();
  });

  const disable = async (id: string) => {
    const res = await t.request(`/api/admin/users/${id}`, { method: "PATCH", body: { disabled: true } });
    expect(res.status, await res.clone().text()).toBe(200);
  };

  it("ends a disabled user's SSE stream, and only that one", async () => {
    const gone = await createUser(t, "sse-disabled@example.com", { role: "user" });
    const stays = await createUser(t, "sse-stays@example.com", { role: "user" });
    const goneStream = keep(await openSse(`${base}/api/v1/events?rooms=${netId}`, bearer(gone.token)));
    const staysStream = keep(await openSse(`${base}/api/v1/events?rooms=${netId}`, bearer(stays.token)));
    let staysEnded = false;
    void staysStream.ended.then(() => {
      staysEnded = true;
    });
    await goneStream.waitFor((m) => m.length === 1, "hello");

    await disable(gone.id);
    await settles(goneStream.ended, "the disabled user's stream to end");

    const node = await createNode(t, netId);
    await staysStream.waitFor(
      (m) => m.some((e) => e.event === "node.enrolled" && JSON.stringify(e.data).includes(node.node.id)),
      "the other user's stream to carry on",
    );
    expect(staysEnded).toBe(false);
    expect(goneStream.events().length).toBe(0);
  });

  it("ends the SSE stream of a user who signs out everywhere", async () => {
    const user = await createUser(t, "sse-signout@example.com", { role: "user" });
    const stream = keep(await openSse(`${base}/api/v1/events?rooms=${netId}`, bearer(user.token)));
    await stream.waitFor((m) => m.length === 1, "hello");
    const res = await t.request("/api/auth/sessions/revoke", {
      method: "POST",
      key: null,
      headers: bearer(user.token),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await settles(stream.ended, "the signed-out user's stream to end");
  });

  it("ends the SSE stream of a revoked API key", async () => {
    const key = await createApiKey(t, ["read"], "stream-revoked");
    const stream = keep(await openSse(`${base}/api/v1/events?rooms=${netId}`, { "X-API-Key": key.key }));
    await stream.waitFor((m) => m.length === 1, "hello");
    const res = await t.request(`/api/admin/api-keys/${key.id}`, { method: "DELETE" });
    expect(res.status, await res.clone().text()).toBe(200);
    await settles(stream.ended, "the revoked key's stream to end");
  });

  it("ends a stream opened with a stream token when the user who asked for it is disabled", async () => {
    const user = await createUser(t, "sse-token@example.com", { role: "user" });
    const issued = await t.request("/api/v1/events/token", {
      method: "POST",
      key: null,
      headers: bearer(user.token),
      body: { room: netId },
    });
    expect(issued.status, await issued.clone().text()).toBe(201);
    const { token } = (await json(issued)).data;
    const stream = keep(await openSse(`${base}/api/v1/events?token=${token}`));
    await stream.waitFor((m) => m.length === 1, "hello");
    await disable(user.id);
    await settles(stream.ended, "the token stream to end");
  });

  it("closes the WebSocket (1008) of a disabled user and of a revoked key", async () => {
    const user = await createUser(t, "ws-disabled@example.com", { role: "user" });
    const userSocket = keep(await openWs(`${ws}/ws?rooms=${netId}`, bearer(user.token)));
    const key = await createApiKey(t, ["read"], "ws-revoked");
    const keySocket = keep(await openWs(`${ws}/ws?rooms=${netId}`, { "X-API-Key": key.key }));
    await userSocket.waitFor((m) => m.length === 1, "hello");
    await keySocket.waitFor((m) => m.length === 1, "hello");

    await disable(user.id);
    await settles(userSocket.closed, "the disabled user's socket to close");
    expect(await userSocket.closed).toBe(1008);

    const res = await t.request(`/api/admin/api-keys/${key.id}`, { method: "DELETE" });
    expect(res.status, await res.clone().text()).toBe(200);
    await settles(keySocket.closed, "the revoked key's socket to close");
    expect(await keySocket.closed).toBe(1008);
  });
});
