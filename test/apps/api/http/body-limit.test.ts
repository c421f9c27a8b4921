/**
 * The body limit over a real socket, where Node's HTTP server tells the length (`limitBody` in
 * app.ts decides from `Content-Length` there, and counts a chunked body as it reads it): over the
 * limit 413, within it the route reads the whole body, with a length or chunked.
 */
import { request } from "node:http";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import { nodes } from "../../../../src/db/index.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const LIMIT = 1024 * 1024;

describe("request body limit over a socket", () => {
  let t: TestPlatform;
  let server: RunningServer;
  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
  });
  afterAll(async () => {
    await server?.close(1_000);
    await t?.close();
  });

  /** Sends `body` in `chunks` writes; chunked unless `length` is given. Resolves status and body. */
  const send = (
    path: string,
    headers: Record<string, string>,
    body: string,
    options: { length?: number; chunks?: number } = {},
  ) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: server.port,
          path,
          method: "POST",
          // A connection of its own: one left with a declared body unsent is not reused.
          agent: false,
          headers: {
            "Content-Type": "application/json",
            ...headers,
            ...(options.length === undefined ? {} : { "Content-Length": String(options.length) }),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            text += d;
          });
          res.on("end", () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      // The server may answer and close before it has read everything sent.
      req.on("error", (err) => (err.message.includes("EPIPE") ? undefined : reject(err)));
      const chunks = options.chunks ?? 1;
      const size = Math.ceil(body.length / chunks);
      for (let i = 0; i < body.length; i += size) req.write(body.slice(i, i + size));
      req.end();
    });

  it("answers 413 for a Content-Length over the limit, before reading the body", async () => {
    const res = await send("/api/v1/sync/full", { "X-API-Key": t.adminKey }, "", { length: LIMIT + 1 });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("answers 413 for a chunked body that grows over the limit, and changes nothing", async () => {
    const body = JSON.stringify({ name: "big", cidr4: "10.93.0.0/24", description: "x".repeat(LIMIT) });
    const res = await send("/api/v1/networks", { "X-API-Key": t.adminKey }, body, { chunks: 16 });
    expect(res.status, res.body).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
    const networks = await t.request("/api/v1/networks");
    expect(((await networks.json()) as { data: { name: string }[] }).data.map((n) => n.name)).not.toContain(
      "big",
    );
  });

  it.each([
    ["with a Content-Length", true],
    ["chunked", false],
  ])("reads a body within the limit whole, %s", async (_, withLength) => {
    const net = await createNetwork(t);
    const node = await createNode(t, net.id);
    const body = JSON.stringify({ metrics: { cpu: 42, memory: 7 }, configVersion: 1 });
    const res = await send(
      `/api/v1/nodes/${node.node.id}/heartbeat`,
      { Authorization: `Bearer ${node.token}` },
      body,
      withLength ? { length: Buffer.byteLength(body), chunks: 3 } : { chunks: 3 },
    );
    expect(res.status, res.body).toBe(200);
    const [row] = await t.platform.database.db.select().from(nodes).where(eq(nodes.id, node.node.id));
    expect(row?.metrics).toEqual({ cpu: 42, memory: 7 });
  });
});
