/**
 * HTTP: wiresync's API against a bare Hono app doing the least each route needs, over real sockets at
 * 10 concurrent keep-alive clients, rounds interleaved. The servers run in a process of their own
 * (`api-server.ts`), the load generator here.
 *
 * - a trivial route (`GET /health/live`) vs the same route on bare Hono;
 * - the agent's heartbeat and config read (node token) vs bare Hono authenticating the token and
 *   writing (heartbeat) or reading (config) the node's row in one statement;
 * - an enrollment (`POST /api/v1/nodes`, server-made key) vs bare Hono + one INSERT.
 *
 *   npm run bench -- api                (Postgres, Redis)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { TEST_REDIS_URL } from "../support/env.js";
import type { Json } from "../support/http.js";
import type { BenchOptions, BenchRow } from "./harness.js";
import { interleave, pairedRow } from "./harness.js";
import type { RawCall } from "./http-client.js";
import { encodeRequest, RawHttpClient } from "./http-client.js";
import { openWorld } from "./lab.js";

const CLIENTS = 10;

/**
 * `requests` requests over `clients` (one connection each, one request at a time); returns requests
 * per second. Any status other than `expect` stops the bench: a fast error is no result.
 */
async function load(
  clients: readonly RawHttpClient[],
  requests: number,
  expect: number,
  make: (i: number, client: number) => RawCall,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (http, client) => {
      while (next < requests) {
        const call = make(next++, client);
        const { status, body } = await http.send(encodeRequest(call));
        if (status !== expect)
          throw new Error(`${call.method} ${call.path}: ${status} ${body.slice(0, 300)}`);
      }
    }),
  );
  return requests / ((performance.now() - t0) / 1000);
}

/**
 * Starts `api-server.ts` in its own process with `settings` (dbUrl, redisUrl, prefix, adminKey);
 * resolves with the process and the ports of wiresync's API (`ours`) and the bare app once both listen.
 */
export async function startServers(
  settings: object,
): Promise<{ child: ChildProcess; ours: number; bare: number }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/bench/api-server.ts", JSON.stringify(settings)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the API servers exited with ${code} before listening`)));
    lines.on("line", (line) => {
      if (line.startsWith("READY ")) resolve(line.slice("READY ".length));
    });
  });
  const ports = JSON.parse(ready) as { ours: number; bare: number };
  return { child, ...ports };
}

export async function rows(options: BenchOptions): Promise<BenchRow[]> {
  const ROUNDS = options.quick ? 5 : 9;
  const TRIVIAL = options.quick ? 200 : 3_000;
  const AGENT = options.quick ? 100 : 1_500;
  const ENROLL = options.quick ? 30 : 300;
  const world = await openWorld({ interfaces: async () => [], minApplyIntervalMs: 0 });
  const servers = await startServers({
    dbUrl: world.dbUrl,
    redisUrl: TEST_REDIS_URL,
    prefix: world.prefix,
    adminKey: world.adminKey,
  });
  const pool = (port: number) => Array.from({ length: CLIENTS }, () => new RawHttpClient(port));
  const oursClients = pool(servers.ours);
  const bareClients = pool(servers.bare);
  const out: BenchRow[] = [];
  try {
    const admin = { "x-api-key": world.adminKey };
    const post = async (path: string, body: unknown) => {
      const res = await oursClients[0]!.send(encodeRequest({ method: "POST", path, headers: admin, body }));
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
      return (JSON.parse(res.body) as Json).data;
    };
    const get = async (path: string) => {
      const res = await oursClients[0]!.send(encodeRequest({ method: "GET", path, headers: admin }));
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
      return (JSON.parse(res.body) as Json).data;
    };
    const networkId = (await post("/api/v1/networks", { name: "bench", cidr4: "10.40.0.0/16" })).id as string;
    // One node per client, with its token, for the agent endpoints.
    const agents: { id: string; token: string }[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const created = await post("/api/v1/nodes", { networkId, name: `agent-${i}` });
      agents.push({ id: created.node.id, token: created.token });
    }

    const compare = async (
      fields: { name: string; baselineName: string; target: number; note: string },
      requests: number,
      expect: number,
      ours: (i: number, client: number) => RawCall,
      bare: (i: number, client: number) => RawCall,
    ) => {
      options.log(fields.name);
      // One untimed pass each first: both sides' code compiled and connections open before timing.
      const warmUp = Math.min(requests, 50);
      await load(oursClients, warmUp, expect, ours);
      await load(bareClients, warmUp, expect, bare);
      const paired = await interleave(ROUNDS, {
        ours: () => load(oursClients, requests, expect, ours),
        base: () => load(bareClients, requests, expect, bare),
      });
      out.push(
        pairedRow(
          {
            name: fields.name,
            unit: "req/s",
            baselineName: fields.baselineName,
            target: { of: "ratio", compare: ">=", value: fields.target },
            note: fields.note,
          },
          paired,
        ),
      );
    };

    await compare(
      {
        name: `GET /health/live, ${CLIENTS} clients`,
        baselineName: "bare Hono, same route",
        target: 0.5,
        note: "the fixed cost every request pays: request id, timing, metrics, security headers, routing",
      },
      TRIVIAL,
      200,
      () => ({ method: "GET", path: "/health/live" }),
      () => ({ method: "GET", path: "/health/live" }),
    );
    // What the agent (src/agent/agent.ts `beat`) sends every beat: its metrics, the config and agent
    // versions, the interface's listen port with the host's addresses, and its handshake with the hub.
    const hubKey = (await get(`/api/v1/networks/${networkId}`)).hubPublicKey as string;
    const heartbeat = {
      metrics: { cpu: 12.5, memory: 40 },
      configVersion: 1,
      agentVersion: "0.1.0",
      candidates: { listenPort: 51820, addresses: ["192.168.1.23/24", "10.40.0.2/16"] },
      handshakes: [{ publicKey: hubKey, ageSeconds: 4 }],
    };
    await compare(
      {
        name: `POST /api/v1/nodes/:id/heartbeat (node token), ${CLIENTS} clients`,
        baselineName: "bare Hono + one UPDATE by id and token hash",
        target: 0.35,
        note: "each client is one node sending a real agent's heartbeats (same candidates, hub handshake); the floor stores the metrics only",
      },
      AGENT,
      200,
      (_, client) => ({
        method: "POST",
        path: `/api/v1/nodes/${agents[client]!.id}/heartbeat`,
        headers: { authorization: `Bearer ${agents[client]!.token}` },
        body: heartbeat,
      }),
      (_, client) => ({
        method: "POST",
        path: `/bare/nodes/${agents[client]!.id}/heartbeat`,
        headers: { authorization: `Bearer ${agents[client]!.token}` },
        body: heartbeat,
      }),
    );
    await compare(
      {
        name: `GET /api/v1/nodes/:id/config (node token), ${CLIENTS} clients`,
        baselineName: "bare Hono + one SELECT by id and token hash + audit INSERT",
        target: 0.35,
        note: "the agent's config read (server-made key: every read is audited); ours also decrypts the key and renders the config, the floor does not",
      },
      AGENT,
      200,
      (_, client) => ({
        method: "GET",
        path: `/api/v1/nodes/${agents[client]!.id}/config`,
        headers: { authorization: `Bearer ${agents[client]!.token}` },
      }),
      (_, client) => ({
        method: "GET",
        path: `/bare/nodes/${agents[client]!.id}/config`,
        headers: { authorization: `Bearer ${agents[client]!.token}` },
      }),
    );
    let enrolled = 0;
    await compare(
      {
        name: `POST /api/v1/nodes (enrollment, server-made key) into one network, ${CLIENTS} clients`,
        baselineName: "bare Hono + one INSERT",
        target: 0.2,
        note: "ours allocates a race-free address, makes the key pair and token, writes node, audit and outbox rows, queues the peer sync",
      },
      ENROLL,
      201,
      () => ({
        method: "POST",
        path: "/api/v1/nodes",
        headers: admin,
        body: { networkId, name: `n-${enrolled++}` },
      }),
      () => ({ method: "POST", path: "/bare/nodes", body: { name: `n-${enrolled++}` } }),
    );
    return out;
  } finally {
    for (const c of [...oursClients, ...bareClients]) c.close();
    const exited = new Promise((r) => servers.child.once("exit", r));
    servers.child.kill("SIGTERM");
    const stuck = setTimeout(() => servers.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(stuck);
    await world.close();
  }
}
