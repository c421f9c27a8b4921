/**
 * A worker process's own health endpoints (`WORKER_HEALTH_PORT`): ready while its jobs make progress,
 * 503 naming `workers` while a job has run past `WORKER_STUCK_AFTER_MS` (a webhook receiver that holds
 * the request), and ready again by itself once that job ends — no restart.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { webhookDeliveries } from "../../src/db/index.js";
import { emitEvent } from "../../src/events/index.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";
import type { StandIn } from "../support/stand-ins.js";
import { startStandIn } from "../support/stand-ins.js";
import type { WorkerChild } from "../support/worker-process.js";
import { bundleWorkerEntry, startWorkerChild, workerChildEnv } from "../support/worker-process.js";

const STUCK_AFTER_MS = 1_000;

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("a worker process's health endpoints", () => {
  let t: TestPlatform;
  let receiver: StandIn;
  let entry: string;
  let dataDir: string;
  let child: WorkerChild | undefined;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    entry = bundleWorkerEntry();
    dataDir = await mkdtemp(path.join(tmpdir(), "wiresync-worker-health-"));
    receiver = await startStandIn(() => ({ status: 204, hold: held }));
    t = await createTestPlatform();
  });
  afterAll(async () => {
    release();
    child?.process.kill("SIGKILL");
    await child?.exited;
    await t.close();
    await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(entry, { force: true });
  });

  it("is ready, then names the stuck job's worker, then recovers when the job ends", async () => {
    const port = await freePort();
    child = startWorkerChild(
      entry,
      workerChildEnv(t, dataDir, {
        HOST: "127.0.0.1",
        WORKER_QUEUES: "webhook",
        WORKER_HEALTH_PORT: String(port),
        WORKER_STUCK_AFTER_MS: String(STUCK_AFTER_MS),
        SCHEDULER_ENABLED: "true",
        OUTBOX_RELAY_INTERVAL_MS: "300",
        WEBHOOK_TIMEOUT_MS: "60000",
      }),
    );
    const started = child;
    await Promise.race([
      started.ready,
      started.exited.then(() => {
        throw new Error(`the worker exited before it started:\n${started.output.join("\n").slice(-2000)}`);
      }),
    ]);
    const ready = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      return { status: res.status, body: (await res.json()) as { failed: string[]; checks: object } };
    };
    // "workers started" comes before the health server listens: wait for it to answer.
    await vi.waitFor(
      async () => expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200),
      {
        timeout: 30_000,
        interval: 100,
      },
    );
    const first = await ready();
    expect(first.status).toBe(200);
    expect(first.body.failed).toEqual([]);
    expect(Object.keys(first.body.checks)).toContain("workers");

    const res = await t.request("/api/admin/settings/webhooks", {
      method: "POST",
      body: { name: "ops", type: "GENERIC", webhookUrl: `${receiver.url}/hook`, events: ["node.offline"] },
    });
    expect(res.status).toBe(201);
    await t.platform.database.db.transaction((tx) =>
      emitEvent(tx, { type: "node.offline", data: { node: { id: "n1", name: "node-1" } } }),
    );
    // The receiver holds the one request: the job runs on past the stuck bound.
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), { timeout: 60_000, interval: 50 });
    await vi.waitFor(
      async () => {
        const stuck = await ready();
        expect(stuck.status).toBe(503);
        expect(stuck.body.failed).toEqual(["workers"]);
      },
      { timeout: 60_000, interval: 200 },
    );

    release();
    const { db } = t.platform.database;
    await vi.waitFor(
      async () => {
        const rows = await db.select({ status: webhookDeliveries.status }).from(webhookDeliveries);
        expect(rows.map((r) => r.status)).toEqual(["delivered"]);
      },
      { timeout: 60_000, interval: 200 },
    );
    await vi.waitFor(
      async () => {
        const recovered = await ready();
        expect(recovered.status).toBe(200);
        expect(recovered.body.failed).toEqual([]);
      },
      { timeout: 30_000, interval: 200 },
    );
  }, 240_000);
});
