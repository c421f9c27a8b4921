/**
 * TURN credentials against a real coturn (REST-API shared secret): the ones `GET /api/v1/turn/ice`
 * hands a node are accepted by coturn until they expire and refused after; forged ones never are.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTurnService, turnPassword } from "../../../../src/turn/index.js";
import type { Coturn } from "../../../support/coturn.js";
import { startCoturn } from "../../../support/coturn.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { asToken, createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import { turnAllocate } from "../../../support/turn-client.js";

const TTL_SECONDS = 3_600;

describe("TURN credentials with a real coturn", () => {
  const secret = randomBytes(24).toString("hex");
  let coturn: Coturn;
  let t: TestPlatform;
  let node: Json;
  beforeAll(async () => {
    coturn = await startCoturn(secret);
    t = await createTestPlatform({
      turn: {
        urls: [`stun:${coturn.host}:${coturn.port}`, `turn:${coturn.host}:${coturn.port}?transport=udp`],
        secret,
        ttlSeconds: TTL_SECONDS,
      },
    });
    node = await createNode(t, (await createNetwork(t)).id);
  });
  afterAll(async () => {
    await t?.close();
    await coturn?.stop();
  });

  const allocate = (username: string, password: string) =>
    turnAllocate({ host: coturn.host, port: coturn.port, username, password });

  it("hands a node STUN and TURN entries whose credential coturn accepts", async () => {
    const before = Math.floor(Date.now() / 1_000);
    const res = await t.request("/api/v1/turn/ice", asToken(node.token));
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const after = Math.floor(Date.now() / 1_000);
    const [stun, turn] = body.data.iceServers;
    expect(body.data.iceServers).toHaveLength(2);
    expect(stun).toEqual({ urls: [`stun:${coturn.host}:${coturn.port}`] });
    expect(turn.urls).toEqual([`turn:${coturn.host}:${coturn.port}?transport=udp`]);
    expect(turn.ttl).toBe(TTL_SECONDS);
    const [expiry, userId] = turn.username.split(":");
    expect(userId).toBe(node.node.id);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + TTL_SECONDS);
    expect(Number(expiry)).toBeLessThanOrEqual(after + TTL_SECONDS);
    expect(body.data.expiresAt).toBe(new Date(Number(expiry) * 1_000).toISOString());
    expect(turn.credential).toBe(turnPassword(secret, turn.username));
    expect(JSON.stringify(body)).not.toContain(secret);

    expect(await allocate(turn.username, turn.credential)).toEqual({ ok: true, realm: coturn.realm });
  });

  it("refuses forged credentials: a wrong password, a stretched expiry, another node's name, another secret", async () => {
    const body = await json(await t.request("/api/v1/turn/ice", asToken(node.token)));
    const { username, credential } = body.data.iceServers[1];
    const [expiry, userId] = username.split(":");
    const stretched = `${Number(expiry) + 86_400}:${userId}`;
    const forgeries: [string, string][] = [
      [username, randomBytes(20).toString("base64")],
      [stretched, credential],
      [`${expiry}:00000000-0000-4000-8000-000000000000`, credential],
      [stretched, turnPassword(`${secret}x`, stretched)],
    ];
    for (const [name, password] of forgeries) {
      const result = await allocate(name, password);
      expect(result, `${name} / ${password}`).toMatchObject({ ok: false, errorCode: 401 });
    }
    // The genuine one still works: the refusals were the forgeries', not coturn's mood.
    expect((await allocate(username, credential)).ok).toBe(true);
  });

  it("makes credentials coturn accepts until they expire and refuses after", async () => {
    // The platform's own service over the same database, with a two-second lifetime.
    const shortLived = createTurnService({
      db: t.platform.database.db,
      config: { urls: [`turn:${coturn.host}:${coturn.port}`], secret, ttlSeconds: 2 },
    });
    const asker = { kind: "node" as const, nodeId: node.node.id };
    const fresh = await shortLived.iceServers(asker, undefined);
    const { username, credential } = fresh.iceServers[0]!;
    expect((await allocate(username!, credential!)).ok).toBe(true);
    // Wait for the clock (not a fixed time) to pass the expiry by a whole second.
    const expiresAtMs = fresh.expiresAt!.getTime();
    await expect.poll(() => Date.now() > expiresAtMs + 1_000, { timeout: 10_000, interval: 100 }).toBe(true);
    // coturn reads its own clock, which it moves on once a second from its event loop, so on a
    // loaded machine it may still see the credential as valid for a moment: refused within a few
    // seconds, where a credential that never expired (or a lifetime in the wrong unit) is not.
    await expect
      .poll(async () => (await allocate(username!, credential!)).ok, { timeout: 6_000, interval: 250 })
      .toBe(false);
    expect(await allocate(username!, credential!)).toMatchObject({ ok: false, errorCode: 401 });

    // Made already expired: refused from the start.
    const stale = createTurnService({
      db: t.platform.database.db,
      config: { urls: [`turn:${coturn.host}:${coturn.port}`], secret, ttlSeconds: 60 },
      now: () => Date.now() - 120_000,
    });
    const old = (await stale.iceServers(asker, undefined)).iceServers[0]!;
    expect(await allocate(old.username!, old.credential!)).toMatchObject({ ok: false, errorCode: 401 });
  });

  it("never logs the shared secret or a credential", async () => {
    const body = await json(await t.request("/api/v1/turn/ice", asToken(node.token)));
    expect(t.logs.text).not.toContain(secret);
    expect(t.logs.text).not.toContain(body.data.iceServers[1].credential);
  });
});
