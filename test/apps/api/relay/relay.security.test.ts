/**
 * The WebSocket relay on a real server: who may open it, that it stamps the sender's own key on what
 * it forwards, that it forwards only within the sender's mesh network, bounds frames, keeps one
 * socket per node, drops for a receiver that is behind, and counts what it carries.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RawData } from "ws";
import { WebSocket } from "ws";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import {
  createRelayHub,
  dbRelayDirectory,
  encodeFrame,
  KEY_BYTES,
  MAX_PAYLOAD_BYTES,
} from "../../../../src/relay/index.js";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import type { Json } from "../../../support/http.js";
import { createEnrollmentKey, createNetwork, createNode, registerNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const WAIT = { timeout: 10_000, interval: 20 };
/** What a receiver's socket may hold before the relay drops for it (small, to reach it quickly). */
const MAX_BUFFERED = 256 * 1024;

interface Client {
  ws: WebSocket;
  binary: Buffer[];
  text: Json[];
  closed?: { code: number; reason: string };
}

describe("WebSocket relay", () => {
  let t: TestPlatform;
  let server: RunningServer;
  let url: string;
  /** a, b, c in one mesh; q in another mesh; h in a hub network. */
  const nodes: Record<"a" | "b" | "c" | "q" | "h", Json> = {} as never;
  const open: WebSocket[] = [];

  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const found = (await t.platform.metrics.registry.getSingleMetric(name)?.get())?.values.find((v) =>
      Object.entries(labels).every(([k, val]) => v.labels[k] === val),
    );
    return found?.value ?? 0;
  };

  function connect(headers: Record<string, string>): Promise<Client | { status: number; body: Json }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      open.push(ws);
      const client: Client = { ws, binary: [], text: [] };
      ws.on("message", (data: RawData, isBinary) => {
        if (isBinary) client.binary.push(data as Buffer);
        else client.text.push(JSON.parse(String(data)));
      });
      ws.on("close", (code, reason) => {
        client.closed = { code, reason: String(reason) };
      });
      ws.on("open", () => resolve(client));
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        // The server's upgrade handling answers a refused upgrade with the route's status and headers only.
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body ? JSON.parse(body) : null }));
      });
      ws.on("error", reject);
    });
  }
  const connectAs = async (who: keyof typeof nodes): Promise<Client> => {
    const client = await connect({ Authorization: `Bearer ${nodes[who].token}` });
    if (!("ws" in client)) throw new Error(`relay refused ${who}: ${JSON.stringify(client)}`);
    await vi.waitFor(() => expect(client.text.length).toBeGreaterThan(0), WAIT);
    return client;
  };
  /** Resolves once everything the relay sent `client` before now has arrived (a ping's pong follows it). */
  const barrier = (client: Client) =>
    new Promise<void>((resolve) => client.ws.once("pong", () => resolve()).ping());
  const key = (who: keyof typeof nodes) => nodes[who].node.publicKey as string;

  beforeAll(async () => {
    t = await createTestPlatform();
    const hub = createRelayHub({
      directory: dbRelayDirectory(t.platform.database.db),
      metrics: t.platform.metrics.relay,
      logger: t.platform.logger,
      maxBufferedBytes: MAX_BUFFERED,
    });
    server = await listen(t.app, 0, "127.0.0.1", { hub, logger: t.platform.logger });
    url = `ws://127.0.0.1:${server.port}/api/v1/relay`;
    const mesh = await createNetwork(t, { topology: "mesh" });
    const other = await createNetwork(t, { topology: "mesh" });
    const hubNet = await createNetwork(t, { topology: "hub" });
    nodes.a = await createNode(t, mesh.id, { name: "a" });
    nodes.b = await createNode(t, mesh.id, { name: "b" });
    nodes.c = await createNode(t, mesh.id, { name: "c" });
    nodes.q = await createNode(t, other.id, { name: "q" });
    nodes.h = await createNode(t, hubNet.id, { name: "h" });
  });
  afterAll(async () => {
    for (const ws of open) ws.terminate();
    await server?.close();
    await t?.close();
  });

  it("refuses a wrong node token (401), an API key (403), and answers a plain GET with 426", async () => {
    const wrong = await connect({ Authorization: `Bearer wsn_${randomBytes(32).toString("base64url")}` });
    expect(wrong).toMatchObject({ status: 401 });
    expect(await connect({ "X-Node-Token": "wsn_nope" })).toMatchObject({ status: 401 });
    expect(await connect({})).toMatchObject({ status: 401 });
    expect(await connect({ "X-API-Key": t.adminKey })).toMatchObject({ status: 403 });
    const plain = await fetch(`http://127.0.0.1:${server.port}/api/v1/relay`, {
      headers: { "X-Node-Token": nodes.a.token },
    });
    expect(plain.status).toBe(426);
    expect(((await plain.json()) as Json).code).toBe("UPGRADE_REQUIRED");
    expect(await metric("wiresync_relay_sessions")).toBe(0);
  });

  it("refuses a disabled node (403), and answers an upgrade offered elsewhere as the plain request it is", async () => {
    const net = await createNetwork(t, { topology: "mesh" });
    const disabled = await createNode(t, net.id, { name: "disabled" });
    const patched = await t.request(`/api/v1/nodes/${disabled.node.id}`, {
      method: "PATCH",
      body: { status: "disabled" },
    });
    expect(patched.status, await patched.text()).toBe(200);
    expect(await connect({ Authorization: `Bearer ${disabled.token}` })).toMatchObject({ status: 403 });
    const health = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/health/live`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("error", reject);
    });
    expect(health).toBe(200);
  });

  it("tells a node the keys it may reach: its mesh's other nodes, and none in a hub network", async () => {
    const a = await connectAs("a");
    expect(a.text[0].type).toBe("peers");
    expect([...a.text[0].publicKeys].sort()).toEqual([key("b"), key("c")].sort());
    const h = await connectAs("h");
    expect(h.text[0]).toEqual({ type: "peers", publicKeys: [], natTypes: {} });
    a.ws.close();
    h.ws.close();
    await vi.waitFor(async () => expect(await metric("wiresync_relay_sessions")).toBe(0), WAIT);
  });

  it("tells a node the NAT types of the peers it may reach and its own, nothing of another network", async () => {
    const mesh = await createNetwork(t, { topology: "mesh" });
    const other = await createNetwork(t, { topology: "mesh" });
    const meshKey = await createEnrollmentKey(t, mesh.id, { reusable: true });
    const otherKey = await createEnrollmentKey(t, other.id);
    const enroll = (key: string, natType?: string) =>
      registerNode(t, key, {
        publicKey: generateKeyPair().publicKey,
        ...(natType ? { networkInfo: { natType } } : {}),
      });
    // The spellings nodes send; the relay answers the canonical ones.
    const sym = await enroll(meshKey, "Symmetric");
    const cone = await enroll(meshKey, "FullCone");
    const untyped = await enroll(meshKey);
    const stranger = await enroll(otherKey, "PortRestrictedCone");
    const client = await connect({ Authorization: `Bearer ${sym.token}` });
    if (!("ws" in client)) throw new Error(`relay refused: ${JSON.stringify(client)}`);
    await vi.waitFor(() => expect(client.text).toHaveLength(1), WAIT);
    const first = client.text[0];
    expect([...first.publicKeys].sort()).toEqual([cone.node.publicKey, untyped.node.publicKey].sort());
    expect(first.natTypes).toEqual({ [cone.node.publicKey]: "full-cone" });
    expect(first.ownNatType).toBe("symmetric");
    expect(JSON.stringify(client.text)).not.toContain(stranger.node.publicKey);
    expect(JSON.stringify(client.text)).not.toContain("port-restricted-cone");

    // A node that joins later is named, with its type, when the node asks again.
    const late = await enroll(meshKey, "symmetric");
    client.ws.send(JSON.stringify({ type: "peers?" }));
    await vi.waitFor(() => expect(client.text).toHaveLength(2), WAIT);
    expect(client.text[1].natTypes).toEqual({
      [cone.node.publicKey]: "full-cone",
      [late.node.publicKey]: "symmetric",
    });
    expect(client.text[1].publicKeys).toHaveLength(3);
    client.ws.close();
    await vi.waitFor(async () => expect(await metric("wiresync_relay_sessions")).toBe(0), WAIT);
  });

  it("forwards a datagram to the named peer, stamped with the sender's own key, and counts its bytes", async () => {
    const [a, b, c] = [await connectAs("a"), await connectAs("b"), await connectAs("c")];
    expect(await metric("wiresync_relay_sessions")).toBe(3);
    const [inBefore, outBefore] = [
      await metric("wiresync_relayed_bytes_total", { direction: "in" }),
      await metric("wiresync_relayed_bytes_total", { direction: "out" }),
    ];
    const payload = randomBytes(1_400);
    a.ws.send(encodeFrame(key("b"), payload));
    await vi.waitFor(() => expect(b.binary).toHaveLength(1), WAIT);
    expect(b.binary[0]!.subarray(0, KEY_BYTES).toString("base64")).toBe(key("a"));
    expect(b.binary[0]!.subarray(KEY_BYTES).equals(payload)).toBe(true);
    // A node cannot send as another: whatever it sends, the receiver sees its own key.
    c.ws.send(encodeFrame(key("b"), payload));
    await vi.waitFor(() => expect(b.binary).toHaveLength(2), WAIT);
    expect(b.binary[1]!.subarray(0, KEY_BYTES).toString("base64")).toBe(key("c"));
    expect(await metric("wiresync_relayed_bytes_total", { direction: "in" })).toBe(inBefore + 2 * 1_400);
    expect(await metric("wiresync_relayed_bytes_total", { direction: "out" })).toBe(outBefore + 2 * 1_400);
    await barrier(a);
    expect(a.binary).toHaveLength(0);
    for (const client of [a, b, c]) client.ws.close();
    await vi.waitFor(async () => expect(await metric("wiresync_relay_sessions")).toBe(0), WAIT);
  });

  it("drops a datagram for another network's node, for itself and for a hub network's node", async () => {
    const [a, q, h] = [await connectAs("a"), await connectAs("q"), await connectAs("h")];
    const dropped = await metric("wiresync_relay_dropped_total", { reason: "no-peer" });
    a.ws.send(encodeFrame(key("q"), randomBytes(100)));
    a.ws.send(encodeFrame(key("a"), randomBytes(100)));
    q.ws.send(encodeFrame(key("h"), randomBytes(100)));
    h.ws.send(encodeFrame(key("q"), randomBytes(100)));
    await vi.waitFor(
      async () =>
        expect(await metric("wiresync_relay_dropped_total", { reason: "no-peer" })).toBe(dropped + 4),
      WAIT,
    );
    for (const client of [a, q, h]) await barrier(client);
    expect([a.binary.length, q.binary.length, h.binary.length]).toEqual([0, 0, 0]);
    for (const client of [a, q, h]) client.ws.close();
  });

  it("drops a frame too short to name a peer, and closes a socket that sends more than 65,535 bytes", async () => {
    const a = await connectAs("a");
    const malformed = await metric("wiresync_relay_dropped_total", { reason: "malformed" });
    a.ws.send(randomBytes(KEY_BYTES));
    await vi.waitFor(
      async () =>
        expect(await metric("wiresync_relay_dropped_total", { reason: "malformed" })).toBe(malformed + 1),
      WAIT,
    );
    a.ws.send(encodeFrame(key("b"), randomBytes(MAX_PAYLOAD_BYTES + 1)));
    await vi.waitFor(() => expect(a.closed?.code).toBe(1009), WAIT);
  });

  it("keeps one socket per node: a newer one closes the older with 4000", async () => {
    const first = await connectAs("b");
    const second = await connectAs("b");
    await vi.waitFor(() => expect(first.closed?.code).toBe(4000), WAIT);
    const a = await connectAs("a");
    a.ws.send(encodeFrame(key("b"), Buffer.from("to the newer socket")));
    await vi.waitFor(() => expect(second.binary).toHaveLength(1), WAIT);
    expect(first.binary).toHaveLength(0);
    expect(await metric("wiresync_relay_sessions")).toBe(2);
    a.ws.close();
    second.ws.close();
  });

  it("drops for a receiver that does not read once its buffer is over the limit", async () => {
    const [a, b] = [await connectAs("a"), await connectAs("b")];
    const before = await metric("wiresync_relay_dropped_total", { reason: "backpressure" });
    // b stops reading: the server's socket to b fills, then its queue grows past the limit.
    (b.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const frame = encodeFrame(key("b"), randomBytes(60_000));
    await vi.waitFor(
      async () => {
        for (let i = 0; i < 50; i++) a.ws.send(frame);
        expect(await metric("wiresync_relay_dropped_total", { reason: "backpressure" })).toBeGreaterThan(
          before,
        );
      },
      { timeout: 30_000, interval: 50 },
    );
    a.ws.close();
    b.ws.terminate();
  });
});
