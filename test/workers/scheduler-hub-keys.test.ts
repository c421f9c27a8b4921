/**
 * The scheduler's hub key tick: a rotation whose deadline passed switches on its own (every 10 s by
 * default), with agents still unconfirmed; a rotation before its deadline is left alone.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateKeyPair } from "../../src/wireguard/index.js";
import { startScheduler } from "../../workers/scheduler.js";
import { json } from "../support/http.js";
import { asToken, createEnrollmentKey, createNetwork, heartbeat, registerNode } from "../support/mesh.js";
import type { TestPlatform } from "../support/platform.js";
import { createTestPlatform } from "../support/platform.js";

describe("scheduler: hub key rotations", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("switches a rotation at its deadline on the tick, and not before", async () => {
    const status = async (id: string) =>
      (await json(await t.request(`/api/v1/networks/${id}/hub-key-rotation`))).data;
    const started: string[] = [];
    for (const deadlineSeconds of [10, 3600]) {
      const net = await createNetwork(t);
      const reg = await registerNode(t, await createEnrollmentKey(t, net.id), {
        publicKey: generateKeyPair().publicKey,
      });
      const config = await t.request(`/api/v1/nodes/${reg.node.id}/config`, asToken(reg.token));
      await heartbeat(t, reg.node.id, reg.token, {
        configVersion: Number(config.headers.get("x-config-version")),
      });
      const res = await t.request(
        `/api/v1/networks/${net.id}/rotate-hub-key?deadlineSeconds=${deadlineSeconds}`,
        {
          method: "POST",
        },
      );
      expect(res.status).toBe(202);
      started.push(net.id);
    }
    const scheduler = startScheduler({
      sync: t.platform.services.sync,
      liveness: t.platform.services.liveness,
      settings: t.platform.services.settings,
      logger: t.platform.logger,
      staleRunCheckCron: "0 0 1 1 *",
      nodeOfflineAfterSeconds: 180,
      crons: { hubKeyRotation: "* * * * * *" },
      hubKeys: t.platform.services.rekey,
    });
    try {
      await vi.waitFor(async () => expect((await status(started[0]!)).pending).toBe(false), {
        timeout: 30_000,
        interval: 250,
      });
      expect((await status(started[1]!)).pending).toBe(true);
    } finally {
      await scheduler.stop();
    }
  }, 60_000);
});
