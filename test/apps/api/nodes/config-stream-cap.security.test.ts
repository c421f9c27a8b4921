import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunningServer } from "../../../../apps/api/server.js";
import { listen } from "../../../../apps/api/server.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

/** The cap of `apps/api/http/stream-slots.ts`, as documented on the route. */
const MAX_STREAMS = 4;

describe("config streams per node", () => {
  let t: TestPlatform;
  let second: TestPlatform;
  let server: RunningServer;
  let secondServer: RunningServer;
  let base: string;
  let secondBase: string;
  const open: AbortController[] = [];

  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
    base = `http://127.0.0.1:${server.port}`;
    // A second API process of the same installation: same database, same Redis prefix.
    second = await createTestPlatform({ database: t.db, prefix: t.prefix });
    secondServer = await listen(second.app, 0, "127.0.0.1");
    secondBase = `http://127.0.0.1:${secondServer.port}`;
  });
  afterAll(async () => {
    for (const c of open) c.abort();
    await secondServer.close(100);
    await server.close(100);
    await second.close();
    await t.close();
  });

  /** Opens a stream with the node's token; resolves with the response once headers arrive. */
  async function stream(nodeId: string, token: string, at = base) {
    const controller = new AbortController();
    open.push(controller);
    const res = await fetch(`${at}/api/v1/nodes/${nodeId}/config/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    return { res, controller };
  }

  /** Reads until the first `config` event arrives. */
  async function firstEvent(res: Response): Promise<string> {
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    return text;
  }

  it(`lets a node's token hold ${MAX_STREAMS} streams across API processes and refuses one more with 429, until one closes`, async () => {
    const network = await createNetwork(t);
    const { node, token } = await createNode(t, network.id);
    const held = [];
    for (let i = 0; i < MAX_STREAMS; i++) {
      // Half on each process: the cap is the node's, not a process's.
      const s = await stream(node.id, token, i % 2 === 0 ? base : secondBase);
      expect(s.res.status).toBe(200);
      expect(await firstEvent(s.res)).toBe('event: config\ndata: {"version":1}\n\n');
      held.push(s);
    }
    expect((await stream(node.id, token, secondBase)).res.status).toBe(429);
    const refused = await stream(node.id, token);
    expect(refused.res.status).toBe(429);
    expect(refused.res.headers.get("retry-after")).toBe("30");
    expect(refused.res.headers.get("content-type")).toBe("application/problem+json");
    expect(await refused.res.json()).toMatchObject({
      status: 429,
      code: "TOO_MANY_STREAMS",
      detail: `node ${node.id} already holds ${MAX_STREAMS} config streams, the most one node may hold at once; close one first`,
      error: { details: { nodeId: node.id, max: MAX_STREAMS, retryAfterSeconds: 30 } },
    });

    // Another node is not affected.
    const other = await createNode(t, network.id);
    expect((await stream(other.node.id, other.token)).res.status).toBe(200);

    // A closed stream gives its slot back, to a stream on the other process too.
    held[1]!.controller.abort();
    await vi.waitFor(
      async () => {
        const again = await stream(node.id, token);
        if (again.res.status !== 200) again.controller.abort();
        expect(again.res.status).toBe(200);
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});
