/**
 * WireGuard data-plane benchmark: wiresync's reconcile (dump + plan + one write over the userspace
 * API) against the `wg` tool on a wireguard-go interface holding 10,000 peers, alternating ours and
 * the baseline in the same run. Prints a ratio table; asserts nothing about time.
 *
 *   npx tsx test/bench/wireguard.bench.ts            (root, wireguard-go, wg, ip; ~1 minute)
 *   PEERS=2000 ROUNDS=3 npx tsx test/bench/wireguard.bench.ts
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { DesiredPeer, DesiredSet, WgDriver, WgPlan } from "../../src/wireguard/index.js";
import {
  checkPlan,
  desiredSet,
  emptyPlan,
  ensureInterface,
  generateKeyPair,
  isEmptyPlan,
  openDriver,
  PlanMemo,
  planInterface,
  uapiSocketPath,
} from "../../src/wireguard/index.js";
import { createLab, netnsSupport } from "../support/netns.js";

const execFileAsync = promisify(execFile);
// biome-ignore lint/style/noProcessEnv: a benchmark's knobs, read once here
const knobs = process.env;
const PEERS = Number(knobs.PEERS ?? 10_000);
const ROUNDS = Number(knobs.ROUNDS ?? 21);
const CREATE_ROUNDS = Number(knobs.CREATE_ROUNDS ?? 7);
const LOOP_SAMPLE = 100;
const DRIFT = Math.max(1, Math.round(PEERS / 100));

const support = netnsSupport();
if (!support.ok) {
  console.error(`wireguard bench cannot run: ${support.reason}`);
  process.exit(1);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const prepared = new Map<WgDriver, DesiredSet>();
const memos = new Map<WgDriver, PlanMemo>();
const phases: Record<string, { dump: number[]; plan: number[]; apply: number[]; cpu: number[] }> = {};

/**
 * dump + plan + apply: what a peer-sync job does once it holds the desired peers. Records the time of
 * each phase under `label`: dump = get + parse (the desired peers are prepared meanwhile), plan = diff.
 */
async function reconcile(
  driver: WgDriver,
  desired: DesiredPeer[],
  label?: string,
): Promise<{ writes: number; plan: WgPlan }> {
  const memo = memos.get(driver) ?? new PlanMemo();
  memos.set(driver, memo);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // As the peer sync does: the get is on its way before dump() returns, and the desired peers are
  // checked and indexed while the daemon answers.
  const reading = driver.dump();
  // As the peer sync does: the set made last time is reused while the desired peers are unchanged.
  const wanted = desiredSet(desired, prepared.get(driver));
  prepared.set(driver, wanted);
  const actual = await reading;
  const t1 = performance.now();
  const plan = planInterface(wanted, actual, { removeUnknown: true, retired: new Set() }, memo);
  const t2 = performance.now();
  const { writes } = await driver.apply(plan);
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  if (label) {
    phases[label] ??= { dump: [], plan: [], apply: [], cpu: [] };
    phases[label].cpu.push((cpu.user + cpu.system) / 1000);
    phases[label].dump.push(t1 - t0);
    phases[label].plan.push(t2 - t1);
    phases[label].apply.push(t3 - t2);
  }
  return { writes, plan };
}

interface Compared {
  ours: number[];
  base: number[];
  writes: number;
}

/**
 * `rounds` rounds of ours and the baseline, alternating which goes first. Before each timed side,
 * `prepare` runs untimed (it makes the state both sides start from).
 */
async function alternate(
  rounds: number,
  sides: {
    prepare?: () => Promise<unknown>;
    ours: () => Promise<{ writes: number }>;
    base: () => Promise<unknown>;
  },
): Promise<Compared> {
  const out: Compared = { ours: [], base: [], writes: 0 };
  const ours = async () => {
    await sides.prepare?.();
    const t = await timed(sides.ours);
    out.ours.push(t.ms);
    out.writes += t.value.writes;
  };
  const base = async () => {
    await sides.prepare?.();
    out.base.push((await timed(sides.base)).ms);
  };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) await ours().then(base);
    else await base().then(ours);
  }
  return out;
}

/** A row of the table: medians, their ratio, the target, and our writes when they matter. */
function ratioRow(label: string, c: Compared, baseline: string, target = "", showWrites = true): string[] {
  return [
    label,
    ms(median(c.ours)),
    baseline,
    ms(median(c.base)),
    `${(median(c.ours) / median(c.base)).toFixed(2)}×`,
    target,
    showWrites ? String(c.writes) : "",
  ];
}

function wgConfig(privateKey: string, listenPort: number, peers: DesiredPeer[]): string {
  const lines = ["[Interface]", `PrivateKey = ${privateKey}`, `ListenPort = ${listenPort}`, ""];
  for (const p of peers) {
    lines.push("[Peer]", `PublicKey = ${p.publicKey}`, `AllowedIPs = ${p.allowedIps.join(", ")}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint}`);
    lines.push("");
  }
  return lines.join("\n");
}

const rssStart = process.memoryUsage().rss;
const lab = createLab();
const secrets = await mkdtemp(join(tmpdir(), "wiresync-bench-")); // 0700: configs hold private keys
const rows: string[][] = [];
let sessionsSurvived = false;
let rssWithState = 0;
const floorSeen: number[] = [];
let getBytesSeen = 0;
const started = performance.now();

try {
  // ── setup: a hub holding PEERS peers, one of which is a real client in another namespace ──────────
  const hubNs = await lab.namespace();
  const clientNs = await lab.namespace();
  await lab.veth(
    { netns: hubNs, address: "192.168.88.1/24" },
    { netns: clientNs, address: "192.168.88.2/24" },
  );
  const hubIf = lab.interfaceName(hubNs);
  const clientIf = lab.interfaceName(clientNs);
  const hubKeys = generateKeyPair();
  const clientKeys = generateKeyPair();
  await ensureInterface({
    name: hubIf,
    privateKey: hubKeys.privateKey,
    listenPort: 51820,
    addresses: ["10.200.0.1/16"],
    netns: hubNs,
  });
  await ensureInterface({
    name: clientIf,
    privateKey: clientKeys.privateKey,
    listenPort: 51820,
    addresses: ["10.200.0.2/16"],
    netns: clientNs,
  });
  const clientPeer: DesiredPeer = { publicKey: clientKeys.publicKey, allowedIps: ["10.200.0.2/32"] };
  // Random bytes make valid public keys (X25519 takes any 32 bytes) 50× faster than key pairs.
  const fresh = (i: number, base = 0): DesiredPeer => ({
    publicKey: randomBytes(32).toString("base64"),
    allowedIps: [`10.${201 + base + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`],
  });
  const desired: DesiredPeer[] = [clientPeer, ...Array.from({ length: PEERS - 1 }, (_, i) => fresh(i))];
  const hub = openDriver(hubIf, { driver: "auto" });
  const client = openDriver(clientIf, { driver: "auto" });
  await reconcile(hub, desired);
  await client.apply(
    checkPlan({
      ...emptyPlan(),
      add: [{ publicKey: hubKeys.publicKey, allowedIps: ["10.200.0.0/16"], endpoint: "192.168.88.1:51820" }],
    }),
  );
  if (!(await lab.ping(clientNs, "10.200.0.1"))) throw new Error("the client cannot ping the hub");
  const clientBefore = (await hub.dump()).peers.find((p) => p.publicKey === clientKeys.publicKey)!;
  const configFile = join(secrets, "hub.conf");
  await writeFile(configFile, wgConfig(hubKeys.privateKey, 51820, desired), { mode: 0o600 });
  const wg = (...args: string[]) => execFileAsync("wg", args, { maxBuffer: 64 * 1024 * 1024 });
  // The floor of any reader: one userspace-API get, received but not parsed.
  const rawGet = () =>
    new Promise<number>((resolve, reject) => {
      const socket = createConnection(uapiSocketPath(hubIf));
      let bytes = 0;
      let previous = -1;
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        const last = chunk[chunk.length - 1];
        const beforeLast = chunk.length > 1 ? chunk[chunk.length - 2] : previous;
        previous = last ?? previous;
        if (last === 10 && beforeLast === 10) {
          socket.destroy();
          resolve(bytes);
        }
      });
      socket.write("get=1\n\n");
    });
  console.log(`setup: ${PEERS} peers on ${hubIf} in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // ── (a) no drift: reconcile vs one `wg syncconf` of the same state ────────────────────────────────
  const syncA = await alternate(ROUNDS, {
    ours: () => reconcile(hub, desired, "(a)"),
    base: () => wg("syncconf", hubIf, configFile),
  });
  const floor = floorSeen;
  for (let r = 0; r < ROUNDS; r++) {
    const t = await timed(rawGet);
    floor.push(t.ms);
    getBytesSeen = t.value;
  }
  rows.push(ratioRow("(a) reconcile, no drift", syncA, "wg syncconf", "≤ 1.0×"));

  // ── (b) 1 % drift: allowed IPs changed, peers missing, unknown peers present ──────────────────────
  let driftRound = 0;
  const drift = async () => {
    driftRound++;
    const victims = desired.slice(1 + ((driftRound * DRIFT) % (PEERS - DRIFT - 1))).slice(0, DRIFT);
    const third = Math.max(1, Math.floor(DRIFT / 3));
    await hub.apply(
      checkPlan({
        ...emptyPlan(),
        update: victims.slice(0, DRIFT - 2 * third).map((p, i) => ({
          publicKey: p.publicKey,
          allowedIps: [`10.250.${driftRound}.${i}/32`],
          replaceAllowedIps: true,
        })),
        remove: victims.slice(DRIFT - 2 * third, DRIFT - third).map((p) => p.publicKey),
        add: Array.from({ length: third }, (_, i) => fresh(i, 40)),
      }),
    );
  };
  const syncB = await alternate(ROUNDS, {
    prepare: drift,
    ours: () => reconcile(hub, desired, "(b)"),
    base: () => wg("syncconf", hubIf, configFile),
  });
  const oursB = syncB.ours;
  if (!isEmptyPlan(planInterface(desired, await hub.dump(), { removeUnknown: true, retired: new Set() }))) {
    throw new Error("the interface does not match the desired state after the drift rounds");
  }
  rows.push(ratioRow("(b) reconcile, 1 % drift", syncB, "wg syncconf", "≤ 0.5×"));

  // Per-peer `wg set` loop, measured on a sample of LOOP_SAMPLE peers and extrapolated to all peers.
  const sample = desired.slice(1, 1 + LOOP_SAMPLE);
  const loop = await timed(async () => {
    for (const p of sample)
      await wg("set", hubIf, "peer", p.publicKey, "allowed-ips", p.allowedIps.join(","));
  });
  const perPeer = loop.ms / sample.length;
  const loopAll = perPeer * PEERS;
  rows.push([
    `(b) vs per-peer wg set ×${PEERS} (extrapolated from ${sample.length})`,
    ms(median(oursB)),
    "wg set loop",
    ms(loopAll),
    `${(loopAll / median(oursB)).toFixed(0)}× faster`,
    "≥ 200× faster",
    "",
  ]);
  rows.push([
    `(b) vs per-peer wg set ×${DRIFT} (only the drifted peers)`,
    ms(median(oursB)),
    "wg set loop",
    ms(perPeer * DRIFT),
    `${((perPeer * DRIFT) / median(oursB)).toFixed(1)}× faster`,
    "",
    "",
  ]);

  // Untouched peers: the real client's session must have survived every reconcile above.
  const pingAfter = await lab.ping(clientNs, "10.200.0.1");
  const clientAfter = (await hub.dump()).peers.find((p) => p.publicKey === clientKeys.publicKey)!;
  sessionsSurvived = pingAfter && clientAfter.latestHandshake === clientBefore.latestHandshake;
  rssWithState = process.memoryUsage().rss;

  // ── one node enrolled: the database gains a peer the interface lacks (the sync after an enrollment) ─
  const joined = [...desired];
  const joinedConfig = join(secrets, "joined.conf");
  const syncJ = await alternate(ROUNDS, {
    prepare: async () => {
      joined.push(fresh(joined.length, 45));
      await writeFile(joinedConfig, wgConfig(hubKeys.privateKey, 51820, joined), { mode: 0o600 });
    },
    ours: () => reconcile(hub, joined, "(j)"),
    base: () => wg("syncconf", hubIf, joinedConfig),
  });
  rows.push(ratioRow("(j) reconcile after one node joined", syncJ, "wg syncconf", "", false));

  // ── (c) create PEERS peers on an empty interface vs `wg setconf` ──────────────────────────────────
  const emptyIf = lab.interfaceName(hubNs);
  const emptyKeys = generateKeyPair();
  await ensureInterface({
    name: emptyIf,
    privateKey: emptyKeys.privateKey,
    listenPort: 51821,
    addresses: [],
    netns: hubNs,
  });
  const empty = openDriver(emptyIf, { driver: "auto" });
  const emptyConfig = join(secrets, "empty.conf");
  await writeFile(emptyConfig, wgConfig(emptyKeys.privateKey, 51821, desired), { mode: 0o600 });
  const clear = async () => {
    await empty.apply(planInterface([], await empty.dump(), { removeUnknown: true, retired: new Set() }));
  };
  const create = await alternate(CREATE_ROUNDS, {
    prepare: clear,
    ours: () => reconcile(empty, desired, "(c)"),
    base: () => wg("setconf", emptyIf, emptyConfig),
  });
  rows.push(ratioRow("(c) create on an empty interface", create, "wg setconf", "≤ 1.2×"));
  hub.close();
  client.close();
  empty.close();
} finally {
  await lab.close();
  await rm(secrets, { recursive: true, force: true });
}

const header = ["operation", "ours ms (median)", "baseline", "baseline ms", "ratio", "target", "our writes"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join(" │ ");
console.log(
  `\nWireGuard data plane, ${PEERS} peers on wireguard-go, ${ROUNDS} rounds (${CREATE_ROUNDS} for creation), ours and baseline alternating`,
);
console.log(fmt(header));
console.log(widths.map((w) => "─".repeat(w)).join("─┼─"));
for (const r of rows) console.log(fmt(r));
console.log(
  `\nfloor: one userspace-API get of ${PEERS} peers (${mb(getBytesSeen)} MB), not parsed: ${ms(median(floorSeen))} ms`,
);
console.log(
  "ours by phase (medians, ms): dump = userspace-API get + parse (desired peers prepared meanwhile), plan = diff, apply = one set; cpu = this process's CPU time for the whole reconcile",
);
for (const [label, p] of Object.entries(phases)) {
  console.log(
    `  ${label}  dump ${ms(median(p.dump))}  plan ${ms(median(p.plan))}  apply ${ms(median(p.apply))}  cpu ${ms(median(p.cpu))}`,
  );
}
console.log(
  `load average at the end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")} on ${cpus().length} CPUs`,
);
console.log(
  `\nsessions of untouched peers survived every reconcile (handshake unchanged, ping ok): ${sessionsSurvived ? "yes" : "NO"}`,
);
console.log(
  `process RSS: ${mb(rssStart)} MB at start, ${mb(rssWithState)} MB holding ${PEERS} peers' desired and actual state`,
);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
