/**
 * The WebSocket relay against the direct path, datagram by datagram: a 1,400-byte datagram (a full
 * WireGuard packet) echoed between two UDP sockets that stand in for two nodes' WireGuard, either
 * straight over loopback (direct, the baseline) or through the agent's relay link, a WebSocket, the
 * API's relay hub, a WebSocket and the other agent's relay link (ours: the real code of both sides,
 * in one process; the node's identity is given, as the upgrade would have proven it). WireGuard's
 * own cost is the same on both paths and left out, so the ratios are the relay's worst case.
 *
 * Rows: median round trip (lower is better), and echo throughput with 64 datagrams in flight
 * (higher is better). Rounds alternate which path goes first; each row reports the median of the
 * per-round ratios. Prints a table; asserts nothing.
 *
 *   npx tsx test/bench/relay.bench.ts                  (ROUNDS=7 ECHOES=2000 STREAM=20000; ~30–60 s)
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:dgram";
import dgram from "node:dgram";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { Registry } from "prom-client";
import { WebSocketServer } from "ws";
import { createRelayLink } from "../../src/agent/index.js";
import { createLogger } from "../../src/logger.js";
import { createRelayMetrics } from "../../src/metrics/relay.js";
import type { RelayIdentity } from "../../src/relay/index.js";
import { createRelayHub, MAX_FRAME_BYTES } from "../../src/relay/index.js";
import { generateKeyPair } from "../../src/wireguard/index.js";

export interface BenchRow {
  name: string;
  ours: number;
  /** Absent for a row that is a figure of its own (the added latency). */
  baseline?: number;
  /** ours / baseline, the median of the rounds' ratios. */
  ratio?: number;
  rounds?: number;
  unit: string;
  target?: string;
}

export interface RelayBenchOptions {
  rounds?: number;
  /** Round trips timed per path and round. */
  echoes?: number;
  /** Datagrams echoed per path and round for throughput. */
  stream?: number;
}

const DATAGRAM_BYTES = 1_400;
const WINDOW = 64;
/** A stream that has heard nothing for this long has lost its window: refill it. */
const STALL_MS = 200;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function bindLoopback(): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.bind(0, "127.0.0.1", () => resolve(socket));
  });
}

/** One side of a path: `a` sends to `target`, `b` echoes everything back to where it came from. */
interface Path {
  a: Socket;
  target: { port: number; address: string };
}

/** Median round trip (µs) of `count` echoes, one at a time. */
async function roundTrips(path: Path, count: number): Promise<number> {
  const payload = randomBytes(DATAGRAM_BYTES);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const retry = setTimeout(() => path.a.send(payload, path.target.port, path.target.address), STALL_MS);
      path.a.once("message", () => {
        clearTimeout(retry);
        resolve();
      });
      path.a.send(payload, path.target.port, path.target.address);
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1_000);
  }
  return median(times);
}

/** Echoed MB/s of `count` datagrams with `WINDOW` in flight (a lost window is refilled after a stall). */
async function throughput(path: Path, count: number): Promise<number> {
  const payload = randomBytes(DATAGRAM_BYTES);
  let sent = 0;
  let received = 0;
  let inFlight = 0;
  let lastHeard = performance.now();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const fill = () => {
      while (inFlight < WINDOW && sent < count) {
        path.a.send(payload, path.target.port, path.target.address);
        sent++;
        inFlight++;
      }
    };
    const stall = setInterval(() => {
      if (performance.now() - lastHeard < STALL_MS) return;
      inFlight = 0;
      if (sent >= count) {
        clearInterval(stall);
        path.a.removeAllListeners("message");
        resolve();
      } else fill();
    }, STALL_MS / 4);
    path.a.on("message", () => {
      lastHeard = performance.now();
      received++;
      inFlight = Math.max(0, inFlight - 1);
      if (received >= count) {
        clearInterval(stall);
        path.a.removeAllListeners("message");
        resolve();
      } else fill();
    });
    fill();
  });
  const seconds = (lastHeard - t0) / 1_000;
  return (received * DATAGRAM_BYTES) / 1024 / 1024 / seconds;
}

/** Runs the benchmark and returns its rows (for `npm run bench`'s table). */
export async function run(options: RelayBenchOptions = {}): Promise<BenchRow[]> {
  const rounds = Math.max(5, options.rounds ?? 7);
  const echoes = options.echoes ?? 2_000;
  const stream = options.stream ?? 20_000;
  const logger = createLogger({ level: "warn", pretty: false });

  // The relay hub behind a WebSocket server, each connection's node named by its token.
  const keys = { a: generateKeyPair().publicKey, b: generateKeyPair().publicKey };
  const identities = new Map<string, RelayIdentity>(
    (["a", "b"] as const).map((who) => [
      `token-${who}`,
      { nodeId: who, networkId: "bench", publicKey: keys[who], topology: "mesh", disabled: false },
    ]),
  );
  const hub = createRelayHub({
    directory: {
      identify: async (id) => [...identities.values()].find((i) => i.nodeId === id),
      peers: async (identity) => ({
        publicKeys: Object.values(keys).filter((k) => k !== identity.publicKey),
        natTypes: {},
      }),
    },
    metrics: createRelayMetrics(new Registry()),
    logger,
  });
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  wss.on("connection", (ws, req) => {
    const token = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
    hub.attach(identities.get(token)!, ws);
  });
  const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;

  // Two stand-ins for WireGuard: `a` sends, `b` echoes.
  const [wgA, wgB] = [await bindLoopback(), await bindLoopback()];
  wgB.on("message", (datagram, from) => wgB.send(datagram, from.port, from.address));
  const links = {
    a: createRelayLink({ url, token: "token-a", logger }),
    b: createRelayLink({ url, token: "token-b", logger }),
  };
  links.a.setListenPort(wgA.address().port);
  links.b.setListenPort(wgB.address().port);
  links.a.start();
  links.b.start();
  while (!links.a.eligible.has(keys.b) || !links.b.eligible.has(keys.a))
    await new Promise((r) => setTimeout(r, 10));
  const relayEndpoint = (await links.a.open(keys.b)).split(":");
  const paths: Record<"direct" | "relayed", Path> = {
    direct: { a: wgA, target: { address: "127.0.0.1", port: wgB.address().port } },
    relayed: { a: wgA, target: { address: relayEndpoint[0]!, port: Number(relayEndpoint[1]) } },
  };

  // Warm both paths (JIT, socket buffers) before anything counts.
  for (const p of Object.values(paths)) {
    await roundTrips(p, 200);
    await throughput(p, 2_000);
  }

  const rtt = { ours: [] as number[], baseline: [] as number[], ratios: [] as number[] };
  const tput = { ours: [] as number[], baseline: [] as number[], ratios: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (["relayed", "direct"] as const) : (["direct", "relayed"] as const);
    const r: Record<string, number> = {};
    const t: Record<string, number> = {};
    for (const which of order) r[which] = await roundTrips(paths[which], echoes);
    for (const which of order) t[which] = await throughput(paths[which], stream);
    rtt.ours.push(r.relayed!);
    rtt.baseline.push(r.direct!);
    rtt.ratios.push(r.relayed! / r.direct!);
    tput.ours.push(t.relayed!);
    tput.baseline.push(t.direct!);
    tput.ratios.push(t.relayed! / t.direct!);
  }

  links.a.stop();
  links.b.stop();
  hub.close();
  wss.close();
  wgA.close();
  wgB.close();

  return [
    {
      name: "relay: round trip of a 1,400-byte datagram vs direct (loopback)",
      ours: median(rtt.ours),
      baseline: median(rtt.baseline),
      ratio: median(rtt.ratios),
      rounds,
      unit: "µs",
      // Three event-loop hops of one process (two agents' links and the hub) against none.
      target: "≤ 10×",
    },
    {
      name: "relay: added round-trip latency",
      ours: median(rtt.ours) - median(rtt.baseline),
      unit: "µs",
      target: "≤ 500",
    },
    {
      name: `relay: echo throughput, ${WINDOW} datagrams in flight, vs direct (loopback)`,
      ours: median(tput.ours),
      baseline: median(tput.baseline),
      ratio: median(tput.ratios),
      rounds,
      unit: "MB/s",
      target: "≥ 0.1×",
    },
  ];
}

function printRows(rows: readonly BenchRow[]): void {
  const fmt = (x: number | undefined) =>
    x === undefined || Number.isNaN(x) ? "—" : x >= 100 ? x.toFixed(0) : x.toFixed(2);
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(
    `${"row".padEnd(width)}  ${"ours".padStart(9)}  ${"baseline".padStart(9)}  ${"ratio".padStart(7)}  unit`,
  );
  for (const r of rows)
    console.log(
      `${r.name.padEnd(width)}  ${fmt(r.ours).padStart(9)}  ${fmt(r.baseline).padStart(9)}  ${(r.ratio === undefined ? "—" : `${r.ratio.toFixed(2)}×`).padStart(7)}  ${r.unit}`,
    );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // biome-ignore lint/style/noProcessEnv: benchmark knobs
  const knobs = process.env;
  const rows = await run({
    rounds: Number(knobs.ROUNDS ?? 7),
    echoes: Number(knobs.ECHOES ?? 2_000),
    stream: Number(knobs.STREAM ?? 20_000),
  });
  console.log(
    `relay bench: ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(2)}; medians of interleaved rounds`,
  );
  printRows(rows);
  process.exit(0);
}
