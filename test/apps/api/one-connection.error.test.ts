/**
 * The main write paths on a one-connection pool, as `npm start` runs on the embedded database
 * (PGlite has a single connection): API, peer-sync and config-push workers and the outbox relay all
 * share it. A query sent on the pool while the same request (or job) holds the connection in a
 * transaction can never be served; the bounded wait below turns that hang into a 503 after
 * `responseTimeoutMs`, so every call must answer its normal status instead.
 */
import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateKeyPair } from "../../../src/mesh/index.js";
import { buildProcessors } from "../../../workers/processors/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { startWorkers } from "../../../workers/runtime.js";
import { bearer } from "../../support/auth.js";
import { fakeInterfaceOps } from "../../support/fake-interfaces.js";
import type { Json } from "../../support/http.js";
import { asToken } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

/** How long a query may wait for the one connection before its request fails with 503. */
const WAIT_BOUND_MS = 4_000;
const HUB_NETWORK = "solo";

describe("every main write path on a single database connection", () => {
  let t: TestPlatform;
  let runtime: WorkerRuntime;
  let receiver: Server;
  let receiverUrl: string;
  const received: string[] = [];
  const hubInterfaces = fakeInterfaceOps();

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        received.push(body);
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    t = await createTestPlatform({
      poolSize: 1,
      databaseTimeouts: {
        connectTimeoutSeconds: 5,
        statementTimeoutMs: WAIT_BOUND_MS / 2,
        responseTimeoutMs: WAIT_BOUND_MS,
      },
      wireguard: {
        interfaces: [{ network: HUB_NETWORK, iface: "wssolo", netns: undefined }],
        driver: "auto",
      },
      interfaceOps: hubInterfaces.ops,
    });
    runtime = startWorkers({
      queues: ["peer-sync", "config-push"],
      processors: buildProcessors(t.platform),
      connection: t.platform.workerConnection(),
      prefix: t.prefix,
      concurrency: { default: 2 },
      logger: t.platform.logger,
    });
  });

  afterAll(async () => {
    await runtime?.close(2_000);
    await t?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  /**
   * Calls the API and expects `status`; the body is in the failure message (a 503 names the wait).
   * `init.key` and `init.headers` as for `t.request`.
   */
  async function call(
    method: string,
    path: string,
    status: number,
    init: { body?: unknown; key?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Json> {
    const res = await t.request(path, { method, ...init });
    const text = await res.text();
    expect(res.status, `${method} ${path}: ${text}`).toBe(status);
    return res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  }

  /** Polls a sync run until it finishes; expects COMPLETED. */
  async function expectCompleted(runId: string) {
    await vi.waitFor(
      async () => {
        const run = await call("GET", `/api/v1/sync/status/${runId}`, 200);
        expect(run.data.status).toBe("COMPLETED");
      },
      { timeout: 20_000, interval: 100 },
    );
  }

  it("answers each call with its normal status, workers and relay sharing the connection", async () => {
    // Networks: the hub one this process's peer-sync worker owns, and a mesh.
    const hub = (
      await call("POST", "/api/v1/networks", 201, {
        body: { name: HUB_NETWORK, cidr4: "10.61.0.0/24", endpoint: "vpn.example.com:51820" },
      })
    ).data;
    const mesh = (
      await call("POST", "/api/v1/networks", 201, {
        body: { name: "solo-mesh", topology: "mesh", cidr4: "10.62.0.0/24" },
      })
    ).data;

    // Nodes made by an admin, in each topology; the server holds the first one's key.
    const laptop = (
      await call("POST", "/api/v1/nodes", 201, {
        body: { networkId: hub.id, name: "laptop", email: "ada@example.com" },
      })
    ).data;
    expect(laptop.config).toMatch(/PrivateKey = /);
    const meshOne = (
      await call("POST", "/api/v1/nodes", 201, { body: { networkId: mesh.id, name: "mesh-one" } })
    ).data;

    // Enrollment keys: made, listed, used by an agent in each topology, revoked.
    const hubKey = (
      await call("POST", "/api/v1/enrollment-keys", 201, {
        body: { networkId: hub.id, reusable: true, maxUses: 2 },
      })
    ).data;
    const meshKey = (await call("POST", "/api/v1/enrollment-keys", 201, { body: { networkId: mesh.id } }))
      .data;
    expect((await call("GET", `/api/v1/enrollment-keys?networkId=${hub.id}`, 200)).data).toHaveLength(1);
    const agent = (
      await call("POST", "/api/v1/nodes/register", 201, {
        key: null,
        headers: bearer(hubKey.key),
        body: { publicKey: generateKeyPair().publicKey, name: "agent" },
      })
    ).data;
    const meshTwoKeys = generateKeyPair();
    const meshTwo = (
      await call("POST", "/api/v1/nodes/register", 201, {
        key: null,
        headers: bearer(meshKey.key),
        body: { publicKey: meshTwoKeys.publicKey, name: "mesh-two" },
      })
    ).data;
    await call("DELETE", `/api/v1/enrollment-keys/${hubKey.id}`, 200);

    // Heartbeats: one plain, one bringing endpoint candidates and a handshake with its mesh peer.
    await call("POST", `/api/v1/nodes/${agent.node.id}/heartbeat`, 200, {
      ...asToken(agent.token),
      body: { metrics: { latencyMs: 12 } },
    });
    await call("POST", `/api/v1/nodes/${meshTwo.node.id}/heartbeat`, 200, {
      ...asToken(meshTwo.token),
      body: {
        candidates: { listenPort: 51820, addresses: ["192.168.7.20/24"] },
        handshakes: [{ publicKey: meshOne.node.publicKey, ageSeconds: 5 }],
      },
    });

    // Configs: an admin's download (text and QR), the node's own, the public side.
    const config = await call("GET", `/api/v1/nodes/${laptop.node.id}/config`, 200);
    expect(config).toBe(laptop.config);
    await call("GET", `/api/v1/nodes/${laptop.node.id}/config?format=qr`, 200);
    await call("GET", `/api/v1/nodes/${meshTwo.node.id}/config`, 200, asToken(meshTwo.token));
    await call("GET", "/api/v1/config", 200);

    // Changes: a node's quota and name, a network's MTU and default quota.
    const patchedNode = (
      await call("PATCH", `/api/v1/nodes/${agent.node.id}`, 200, {
        body: { name: "agent-renamed", monthlyQuotaBytes: 1_048_576 },
      })
    ).data;
    expect(patchedNode.monthlyQuotaBytes).toBe(1_048_576);
    const patchedNetwork = (
      await call("PATCH", `/api/v1/networks/${hub.id}`, 200, {
        body: { mtu: 1380, defaultMonthlyQuotaBytes: 10_485_760 },
      })
    ).data;
    expect(patchedNetwork.mtu).toBe(1380);

    // A one-time config link: made, used once, then gone.
    const link = new URL(
      (await call("POST", `/api/v1/nodes/${laptop.node.id}/config/link`, 201)).data.url as string,
    );
    const linked = await call("GET", `${link.pathname}${link.search}`, 200, { key: null });
    expect(linked).toBe(await call("GET", `/api/v1/nodes/${laptop.node.id}/config`, 200));
    expect(linked).toMatch(/^MTU = 1380$/m);
    const gone = await call("GET", `${link.pathname}${link.search}`, 410, { key: null });
    expect(gone.code).toBe("CONFIG_LINK_GONE");

    // Webhooks: made, and tested against a local receiver.
    const hook = (
      await call("POST", "/api/admin/settings/webhooks", 201, {
        body: { name: "solo-hook", type: "GENERIC", webhookUrl: receiverUrl, events: ["*"] },
      })
    ).data;
    const tested = (await call("PATCH", "/api/admin/settings/webhooks", 200, { body: { id: hook.id } })).data;
    expect(tested).toMatchObject({ ok: true, statusCode: 200 });

    // A second link, revoked before use.
    const unused = new URL(
      (await call("POST", `/api/v1/nodes/${laptop.node.id}/config/link`, 201)).data.url as string,
    );
    await call("DELETE", `${unused.pathname}${unused.search}`, 200);

    // A custom event for the webhooks, a setting (sealed), an API key, a user.
    const dispatched = (
      await call("POST", "/api/v1/webhook/dispatch", 202, { body: { event: "deploy.done", data: { v: 1 } } })
    ).data;
    expect(dispatched.webhooks).toBe(1);
    await call("POST", "/api/admin/settings", 200, {
      body: { key: "solo.token", value: "s3cret", encrypted: true },
    });
    await call("POST", "/api/admin/api-keys", 201, { body: { name: "reader", scopes: ["read"] } });
    await call("POST", "/api/auth/register", 201, {
      body: { email: "grace@example.com", password: "correct horse battery staple" },
    });

    // Syncs, run by the workers on the same connection: the hub network's peers, then everything.
    const peers = (await call("POST", "/api/v1/sync/peers", 202, { body: { network_id: hub.id } })).data;
    await expectCompleted(peers.sync_log_id);
    // The agent moved 2 MB against its 1 MiB quota: the full sync's usage collection disables it.
    hubInterfaces.fakes.get("wssolo")!.mutate(agent.node.publicKey, {
      rxBytes: 1_500_000,
      txBytes: 500_000,
      latestHandshake: Math.floor(Date.now() / 1000),
    });
    const configs = (await call("POST", "/api/v1/sync/configs", 202, { body: { network_id: hub.id } })).data;
    await expectCompleted(configs.sync_log_id);
    const full = (await call("POST", "/api/v1/sync/full", 202)).data;
    await expectCompleted(full.sync_log_id);
    const overQuota = (await call("GET", `/api/v1/nodes/${agent.node.id}`, 200)).data;
    expect(overQuota).toMatchObject({ status: "disabled", disabledReason: "quota" });

    // Reads over the mesh: drift of the hub's interface (asked of the worker), stats, reachability.
    const drift = (await call("GET", `/api/v1/networks/${hub.id}/drift`, 200)).data;
    expect(drift).toMatchObject({ managed: true, missing: [], unexpected: [] });
    await call("GET", "/api/stats", 200, { key: null });
    await call("GET", "/api/v1/stats/overview", 200);
    await call("GET", "/api/admin/stats", 200);
    const reach = (await call("GET", `/api/v1/networks/${mesh.id}/reachability`, 200)).data;
    expect(reach.networkId).toBe(mesh.id);

    // A drift fix, run by the worker.
    const fix = (await call("POST", `/api/v1/networks/${hub.id}/drift/fix`, 202)).data;
    await expectCompleted(fix.sync_log_id);

    // Deletes: a node by id, one by its owner's email, then the mesh network with its nodes.
    await call("DELETE", `/api/v1/nodes/${laptop.node.id}`, 200);
    await call("PATCH", `/api/v1/nodes/${agent.node.id}`, 200, { body: { email: "bob@example.com" } });
    const byEmail = (await call("DELETE", "/api/v1/nodes?email=bob@example.com", 200)).data;
    expect(byEmail.deleted).toBe(1);
    await call("DELETE", `/api/v1/networks/${mesh.id}?force=true`, 200);

    // The receiver heard the test event (the relay's deliveries may follow it).
    expect(received.length).toBeGreaterThanOrEqual(1);
    // Nor did a job or the relay give up on a wait behind the scenes (a failed job logs a warning).
    // A stalled job (its lock not renewed in time on a busy machine) is no failure of the code.
    const troubles = t.logs
      .parsed()
      .filter((l) => (l.level as number) >= 40 && l.msg !== "job stalled; returned to the queue");
    expect(troubles.map((l) => l.msg)).toEqual([]);
  });
});
