/**
 * The live event stream across API processes, each a real `apps/api/main.ts` child: two processes
 * deliver the same events in the same order (the Redis notice, not process memory), and a client
 * whose process restarts resumes on the new one from Last-Event-ID with every event exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { and, asc, eq, isNotNull, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events } from "../../../../src/db/index.js";
import type { StreamClient } from "../../../support/event-stream.js";
import { openSse } from "../../../support/event-stream.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";
import type { SpawnedProcess } from "../../../support/spawn.js";
import { spawnEntry } from "../../../support/spawn.js";
import { workerChildEnv } from "../../../support/worker-process.js";

describe("live event stream across API processes", () => {
  let t: TestPlatform;
  let dataDir: string;
  const processes: SpawnedProcess[] = [];
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    t = await createTestPlatform();
    dataDir = mkdtempSync(path.join(tmpdir(), "wiresync-events-"));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(processes.map((p) => p.stop()));
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts an API process of `t`'s installation; resolves to its base URL once it listens. */
  async function startApi(): Promise<{ api: SpawnedProcess; url: string }> {
    const api = spawnEntry("apps/api/main.ts", workerChildEnv(t, dataDir, { PORT: "0", HOST: "127.0.0.1" }));
    processes.push(api);
    const [, url] = await api.waitForOutput(/"url":"(http:\/\/[^"]+)"/, 60_000);
    return { api, url: url! };
  }

  async function stream(url: string, networkId: string, headers: Record<string, string> = {}) {
    const client = await openSse(`${url}/api/v1/events?rooms=${networkId}`, {
      "X-API-Key": t.adminKey,
      ...headers,
    });
    clients.push(client);
    await client.waitFor((m) => m.length >= 1 && m[0]!.event === "system.hello", "hello");
    return client;
  }

  const eventIds = (...streams: StreamClient[]) =>
    streams.flatMap((s) => s.events().map((e) => e.data.eventId));

  async function streamIdsOf(networkId: string): Promise<string[]> {
    const rows = await t.platform.database.db
      .select({ id: events.id })
      .from(events)
      .where(and(isNotNull(events.seq), eq(sql`${events.data}->'network'->>'id'`, networkId)))
      .orderBy(asc(events.seq));
    return rows.map((r) => r.id);
  }

  it("delivers the same events through two processes, and resumes on a restarted one without gaps or repeats", {
    timeout: 180_000,
  }, async () => {
    const [one, two] = await Promise.all([startApi(), startApi()]);
    const net = await createNetwork(t);
    const onOne = await stream(one.url, net.id);
    const onTwo = await stream(two.url, net.id);
    // Written by this test's own platform: neither API process wrote them or saw them in memory.
    for (let i = 0; i < 3; i++) await createNode(t, net.id);
    await onOne.waitFor((m) => m.filter((e) => e.id).length === 3, "3 events on process one");
    await onTwo.waitFor((m) => m.filter((e) => e.id).length === 3, "3 events on process two");
    expect(eventIds(onOne)).toEqual(eventIds(onTwo));
    expect(onOne.events().map((e) => e.id)).toEqual(onTwo.events().map((e) => e.id));

    await one.api.stop();
    const lastId = onOne.events().at(-1)!.id!;
    for (let i = 0; i < 3; i++) await createNode(t, net.id);
    const again = await startApi();
    const resumed = await stream(again.url, net.id, { "Last-Event-ID": lastId });
    for (let i = 0; i < 2; i++) await createNode(t, net.id);
    await resumed.waitFor((m) => m.filter((e) => e.id).length === 5, "3 replayed and 2 live events");
    await onTwo.waitFor((m) => m.filter((e) => e.id).length === 8, "all 8 events on process two");

    const expected = await streamIdsOf(net.id);
    expect(expected).toHaveLength(8);
    expect(eventIds(onOne, resumed)).toEqual(expected);
    expect(eventIds(onTwo)).toEqual(expected);
    expect(new Set(eventIds(onOne, resumed)).size).toBe(8);
  });
});
