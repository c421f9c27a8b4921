/**
 * HTTP side by side: wiresync's routes against a bare Hono app doing the least work of the same
 * operation (see `http-servers.ts`, run in a child process), over real sockets with autocannon at 10
 * connections. Rounds alternate ours and the baseline; the ratio printed is the median of per-round
 * ratios of requests per second (ours / bare: higher is better). Asserts nothing.
 *
 *   npx tsx test/bench/http.bench.ts        (ROUNDS=5 SECONDS=3 ROWS=trivial,heartbeat,config,enroll)
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { deletePrefix } from "../support/redis.js";

// biome-ignore lint/style/noProcessEnv: benchmark knobs
const knobs = process.env;
const ROUNDS = Number(knobs.ROUNDS ?? 5);
const SECONDS = Number(knobs.SECONDS ?? 3);
const ROWS = (knobs.ROWS ?? "trivial,heartbeat,config,enroll").split(",");
const CONNECTIONS = 10;

const child = spawn(process.execPath, ["--import", "tsx", "test/bench/http-servers.ts"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
const s = JSON.parse(line) as {
  oursPort: number;
  barePort: number;
  adminKey: string;
  networkId: string;
  nodeId: string;
  token: string;
  prefix: string;
};

let counter = 0;
const enrollBody = () => JSON.stringify({ networkId: s.networkId, name: `b-${process.pid}-${counter++}` });
const heartbeat = JSON.stringify({ metrics: { cpu: 12, memory: 40, connections: 3 } });
const agentHeaders = { authorization: `Bearer ${s.token}`, "content-type": "application/json" };

interface Row {
  name: string;
  target: number;
  ours: autocannon.Options;
  bare: autocannon.Options;
}
const all: Row[] = [
  {
    name: "trivial GET (/health/live vs c.json)",
    target: 0.5,
    ours: { url: `http://127.0.0.1:${s.oursPort}/health/live` },
    bare: { url: `http://127.0.0.1:${s.barePort}/ping` },
  },
  {
    name: "agent heartbeat (vs hash + UPDATE)",
    target: 0.35,
    ours: {
      url: `http://127.0.0.1:${s.oursPort}/api/v1/nodes/${s.nodeId}/heartbeat`,
      method: "POST" as const,
      headers: agentHeaders,
      body: heartbeat,
    },
    bare: {
      url: `http://127.0.0.1:${s.barePort}/heartbeat/${s.nodeId}`,
      method: "POST" as const,
      headers: agentHeaders,
      body: heartbeat,
    },
  },
  {
    name: "agent config read (vs hash + SELECT)",
    target: 0.35,
    ours: { url: `http://127.0.0.1:${s.oursPort}/api/v1/nodes/${s.nodeId}/config`, headers: agentHeaders },
    bare: { url: `http://127.0.0.1:${s.barePort}/config/${s.nodeId}`, headers: agentHeaders },
  },
  {
    name: "enroll into one network (vs one INSERT)",
    target: 0.2,
    ours: {
      url: `http://127.0.0.1:${s.oursPort}/api/v1/nodes`,
      method: "POST" as const,
      headers: { "x-api-key": s.adminKey, "content-type": "application/json" },
      requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: enrollBody() }) }],
    },
    bare: {
      url: `http://127.0.0.1:${s.barePort}/nodes`,
      method: "POST" as const,
      headers: { "content-type": "application/json" },
      requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: enrollBody() }) }],
    },
  },
];
const rows = all.filter((r) => ROWS.some((k) => r.name.startsWith(k) || r.name.includes(k)));

const run = async (opts: autocannon.Options) => {
  const r = await autocannon({ ...opts, connections: CONNECTIONS, duration: SECONDS });
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0)
    throw new Error(`${opts.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.average, p50: r.latency.p50 };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  // Warm both (JIT, pools, prepared statements) before timing anything.
  for (const row of rows) {
    await autocannon({ ...row.ours, connections: CONNECTIONS, duration: 1 });
    await autocannon({ ...row.bare, connections: CONNECTIONS, duration: 1 });
  }
  process.stdout.write(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}\n`,
  );
  for (const row of rows) {
    const ratios: number[] = [];
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate which goes first, so neither always runs on the warmer machine.
      const [a, b] = i % 2 === 0 ? [row.ours, row.bare] : [row.bare, row.ours];
      const first = await run(a);
      const second = await run(b);
      const [o, x] = i % 2 === 0 ? [first, second] : [second, first];
      ours.push(o.rps);
      bare.push(x.rps);
      ratios.push(o.rps / x.rps);
    }
    const ratio = median(ratios);
    process.stdout.write(
      `${row.name.padEnd(44)} ours ${median(ours).toFixed(0).padStart(6)} req/s  bare ${median(bare).toFixed(0).padStart(6)} req/s  ratio ${ratio.toFixed(3)}  target ≥ ${row.target}  ${ratio >= row.target ? "pass" : "MISS"}   (rounds: ${ratios.map((r) => r.toFixed(2)).join(" ")})\n`,
    );
  }
  process.stdout.write(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}\n`,
  );
} finally {
  child.kill("SIGTERM");
  await once(child, "exit");
  if (s.prefix) await deletePrefix(s.prefix);
}
